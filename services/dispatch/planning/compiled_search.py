"""Regret insertion and ruin-and-recreate compiled with numba, for days whose route cost is its travel.

That is every day without breaks, soft overtime or SLA deadlines (``RouteEvaluator.all_simple``): the
VRPTW benchmarks, and days planned without those terms. There an insertion is feasible iff the pushed
next stop still starts by its latest start, so each route keeps two columns (departure from each stop,
latest start of each stop) and an insertion is tested in O(1) per position, as in
``RouteEvaluator._insertions_by_slack``. Same moves, same acceptance as ``construction.ruin_and_recreate``,
in machine code: per step ~100x fewer seconds than the numpy version, whose cost was call overhead.

Numbers are the routing model's integer ticks, as floats. A route is a row of ``routes`` with its
length in ``lengths``; ``route_of[k]`` is the vehicle serving visit k or -1.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

INF = math.inf
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --- one route -----------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _window_start(ws: FloatArray, we: FloatArray, k: int, t: float) -> float:
    """Earliest service start at or after ``t`` inside one of visit k's windows (inf: none)."""
    best = INF
    for w in range(ws.shape[1]):
        s = max(t, ws[k, w])
        if s <= we[k, w] and s < best:
            best = s
    return best


@njit(cache=True, nogil=True)
def _latest_start(ws: FloatArray, we: FloatArray, k: int, bound: float) -> float:
    """Latest service start at or before ``bound`` inside one of visit k's windows (-inf: none)."""
    best = -INF
    for w in range(ws.shape[1]):
        if ws[k, w] <= we[k, w] and ws[k, w] <= bound:
            s = min(we[k, w], bound)
            if s > best:
                best = s
    return best


@njit(cache=True, nogil=True)
def _reschedule(p, v: int, routes: IntArray, lengths: IntArray, dep: FloatArray, lat: FloatArray,
                travel: FloatArray, load: FloatArray) -> bool:
    """Departures and latest starts of vehicle v's route, its travel and load; False if infeasible."""
    (T, node, service, ws, we, demand, start_node, end_node, start, hard_end) = p
    m = lengths[v]
    clock = start[v]
    dep[v, 0] = clock
    here = start_node[v]
    total = 0.0
    weight = 0.0
    for i in range(m):
        k = routes[v, i]
        leg = T[here, node[k]]
        total += leg
        clock = _window_start(ws, we, k, clock + leg) + service[k]
        dep[v, i + 1] = clock
        here = node[k]
        weight += demand[k]
    back = T[here, end_node[v]]
    total = total + back if m else 0.0  # an idle technician-day costs nothing
    bound = hard_end[v]
    lat[v, m] = bound
    nxt = end_node[v]
    for i in range(m - 1, -1, -1):
        k = routes[v, i]
        bound = _latest_start(ws, we, k, bound - service[k] - T[node[k], nxt])
        lat[v, i] = bound
        nxt = node[k]
    travel[v] = total
    load[v] = weight
    return m == 0 or clock + back <= hard_end[v]


@njit(cache=True, nogil=True)
def _best_insertion(p, v: int, k: int, routes: IntArray, lengths: IntArray, dep: FloatArray, lat: FloatArray,
                    travel: FloatArray, load: FloatArray, capacity: FloatArray, max_travel: FloatArray
                    ) -> tuple[float, int]:
    """Cheapest feasible insertion of visit k into vehicle v's route: (extra travel or inf, position)."""
    (T, node, service, ws, we, demand, start_node, end_node, _start, _hard_end) = p
    if load[v] + demand[k] > capacity[v]:
        return INF, 0
    m = lengths[v]
    j = node[k]
    best, where = INF, 0
    prev = start_node[v]
    for pos in range(m + 1):
        nxt = node[routes[v, pos]] if pos < m else end_node[v]
        delta = T[prev, j] + T[j, nxt] - (T[prev, nxt] if m else 0.0)
        if delta < best and travel[v] + delta <= max_travel[v]:
            s = _window_start(ws, we, k, dep[v, pos] + T[prev, j])
            if s < INF:
                arrival = s + service[k] + T[j, nxt]
                if pos < m:
                    arrival = _window_start(ws, we, routes[v, pos], arrival)
                if arrival <= lat[v, pos]:
                    best, where = delta, pos
        prev = nxt
    return best, where


# --- regret insertion ----------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _insert(p, pool: IntArray, vehicles: IntArray, allowed: BoolArray, penalty: FloatArray, regret_cap: float,
            noise: float, routes: IntArray, lengths: IntArray, dep: FloatArray, lat: FloatArray,
            travel: FloatArray, load: FloatArray, capacity: FloatArray, max_travel: FloatArray,
            route_of: IntArray, inserted: IntArray) -> int:
    """Regret-2 insertion of ``pool`` into ``vehicles``' routes (noisy scores when ``noise`` > 0); what does
    not fit stays out. Writes the visits inserted to ``inserted`` and returns how many."""
    c, nv = len(pool), len(vehicles)
    extra = np.full((c, nv), INF)
    where = np.zeros((c, nv), dtype=np.int64)
    open_ = np.ones(c, dtype=np.bool_)
    for col in range(nv):
        v = vehicles[col]
        for i in range(c):
            if allowed[pool[i], v]:
                extra[i, col], where[i, col] = _best_insertion(p, v, pool[i], routes, lengths, dep, lat, travel,
                                                               load, capacity, max_travel)
    count = 0
    while True:
        chosen, chosen_col, top = -1, -1, -INF
        for i in range(c):
            if not open_[i]:
                continue
            first, second, col_first = INF, INF, -1
            for col in range(nv):
                e = extra[i, col]
                if e < first:
                    second, first, col_first = first, e, col
                elif e < second:
                    second = e
            if col_first < 0:
                continue
            regret = min(second - first, regret_cap) if second < INF else regret_cap
            score = penalty[pool[i]] + regret - first
            if noise > 0.0:
                score += np.random.normal(0.0, noise * regret_cap)
            if score > top:
                chosen, chosen_col, top = i, col_first, score
        if chosen < 0:
            return count
        k, v = pool[chosen], vehicles[chosen_col]
        at, m = where[chosen, chosen_col], lengths[v]
        for i in range(m, at, -1):
            routes[v, i] = routes[v, i - 1]
        routes[v, at] = k
        lengths[v] = m + 1
        route_of[k] = v
        _reschedule(p, v, routes, lengths, dep, lat, travel, load)
        inserted[count] = k
        count += 1
        open_[chosen] = False
        extra[chosen, :] = INF
        for i in range(c):
            if open_[i] and allowed[pool[i], v]:
                extra[i, chosen_col], where[i, chosen_col] = _best_insertion(
                    p, v, pool[i], routes, lengths, dep, lat, travel, load, capacity, max_travel)


@njit(cache=True, nogil=True)
def reschedule_all(p, routes: IntArray, lengths: IntArray, dep: FloatArray, lat: FloatArray, travel: FloatArray,
                   load: FloatArray) -> bool:
    feasible = True
    for v in range(len(lengths)):
        feasible &= _reschedule(p, v, routes, lengths, dep, lat, travel, load)
    return feasible


@njit(cache=True, nogil=True)
def construct(p, allowed: BoolArray, penalty: FloatArray, regret_cap: float, capacity: FloatArray,
              max_travel: FloatArray, routes: IntArray, lengths: IntArray, dep: FloatArray, lat: FloatArray,
              travel: FloatArray, load: FloatArray, route_of: IntArray) -> int:
    """Regret insertion of every visit into the routes (scheduled); returns how many were placed."""
    n, vehicles = len(route_of), len(lengths)
    inserted = np.empty(n, dtype=np.int64)
    return _insert(p, np.arange(n), np.arange(vehicles), allowed, penalty, regret_cap, 0.0, routes, lengths, dep,
                   lat, travel, load, capacity, max_travel, route_of, inserted)


# --- ruin and recreate ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def seed_random(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True, nogil=True)
def search(p, allowed: BoolArray, penalty: FloatArray, regret_cap: float, capacity: FloatArray,
           max_travel: FloatArray, neighbours: IntArray, vehicle_to_visit: FloatArray,
           routes: IntArray, lengths: IntArray, dep: FloatArray, lat: FloatArray, travel: FloatArray,
           load: FloatArray, route_of: IntArray, best_routes: IntArray, best_lengths: IntArray,
           dirty: BoolArray, value: float, best_value: float, steps: int, max_removed: int, threshold: float,
           progress: float, open_routes: float) -> tuple[float, float]:
    """``steps`` ruin-and-recreate steps from the current plan (the arrays, changed in place).

    Accepts a trial no worse than the current value plus a threshold that falls to 0 as ``progress`` goes
    from 0 to 1; copies each new best into ``best_routes`` (only the
    routes changed since the last best: ``dirty``). Returns the current and the best value."""
    n, vehicle_count = len(route_of), len(lengths)
    width = routes.shape[1]
    saved_routes = np.empty((vehicle_count, width), dtype=np.int64)
    saved_lengths = np.empty(vehicle_count, dtype=np.int64)
    saved_travel = np.empty(vehicle_count)
    saved = np.zeros(vehicle_count, dtype=np.bool_)
    touched = np.empty(vehicle_count, dtype=np.int64)
    chosen = np.zeros(vehicle_count, dtype=np.bool_)
    vehicles = np.empty(vehicle_count, dtype=np.int64)
    removed = np.empty(n, dtype=np.int64)
    pool = np.empty(n, dtype=np.int64)
    in_pool = np.zeros(n, dtype=np.bool_)
    inserted = np.empty(n, dtype=np.int64)
    near_limit = min(n, 3 * max_removed)
    for _ in range(steps):
        assigned = 0
        for k in range(n):
            if route_of[k] >= 0:
                assigned += 1
        if assigned == 0:
            break
        # Ruin: strings around a random assigned seed, from up to a few neighbouring routes (SISR-like).
        pick = np.random.randint(assigned)
        seed_visit = -1
        for k in range(n):
            if route_of[k] >= 0:
                if pick == 0:
                    seed_visit = k
                    break
                pick -= 1
        target = np.random.randint(max(2, max_removed // 3), max_removed + 1)
        max_string = max(2, target // 2)
        n_removed, n_touched = 0, 0
        for r in range(n):
            k = neighbours[seed_visit, r]
            v = route_of[k]
            if v < 0 or saved[v]:
                continue
            m = lengths[v]
            saved_routes[v, :m] = routes[v, :m]
            saved_lengths[v] = m
            saved_travel[v] = travel[v]
            saved[v] = True
            touched[n_touched] = v
            n_touched += 1
            length = np.random.randint(1, min(m, max_string) + 1)
            at = 0
            while routes[v, at] != k:
                at += 1
            first = np.random.randint(max(0, at - length + 1), min(at, m - length) + 1)
            for i in range(first, first + length):
                removed[n_removed] = routes[v, i]
                route_of[routes[v, i]] = -1
                n_removed += 1
            for i in range(first + length, m):
                routes[v, i - length] = routes[v, i]
            lengths[v] = m - length
            if n_removed >= target:
                break
        # Recreate into the ruined routes, the routes near the seed and the two nearest idle vehicles.
        nv = 0
        for t in range(n_touched):
            vehicles[nv] = touched[t]
            chosen[touched[t]] = True
            nv += 1
        for _idle in range(2):
            nearest, distance = -1, INF
            for v in range(vehicle_count):
                if lengths[v] == 0 and not chosen[v] and vehicle_to_visit[v, seed_visit] < distance:
                    nearest, distance = v, vehicle_to_visit[v, seed_visit]
            if nearest >= 0:
                vehicles[nv] = nearest
                chosen[nearest] = True
                nv += 1
        for r in range(near_limit):
            v = route_of[neighbours[seed_visit, r]]
            if v >= 0 and not chosen[v] and nv < 6 + 2 * n_touched:
                vehicles[nv] = v
                chosen[v] = True
                nv += 1
        for t in range(nv):
            v = vehicles[t]
            if not saved[v]:
                saved_routes[v, : lengths[v]] = routes[v, : lengths[v]]
                saved_lengths[v] = lengths[v]
                saved_travel[v] = travel[v]
                saved[v] = True
        feasible = True
        for t in range(n_touched):
            feasible &= _reschedule(p, touched[t], routes, lengths, dep, lat, travel, load)
        # The pool: what was removed, then the unassigned visits near the seed.
        c = 0
        for i in range(n_removed):
            pool[c] = removed[i]
            in_pool[removed[i]] = True
            c += 1
        for r in range(min(n, 2 * max_removed)):
            k = neighbours[seed_visit, r]
            if route_of[k] < 0 and not in_pool[k]:
                pool[c] = k
                in_pool[k] = True
                c += 1
        n_inserted = 0
        if feasible and open_routes > 0.0 and np.random.random() < open_routes:
            # Regret insertion never pays a fresh round trip for one visit: start an idle route with the seed.
            for t in range(nv):
                v = vehicles[t]
                if lengths[v] == 0 and allowed[seed_visit, v]:
                    cost, _ = _best_insertion(p, v, seed_visit, routes, lengths, dep, lat, travel, load, capacity,
                                              max_travel)
                    if cost < INF:
                        routes[v, 0] = seed_visit
                        lengths[v] = 1
                        route_of[seed_visit] = v
                        _reschedule(p, v, routes, lengths, dep, lat, travel, load)
                        inserted[0] = seed_visit
                        n_inserted = 1
                        for i in range(c):
                            if pool[i] == seed_visit:
                                pool[i] = pool[c - 1]
                                c -= 1
                                break
                    break
        if feasible:
            n_inserted += _insert(p, pool[:c], vehicles[:nv], allowed, penalty, regret_cap,
                                  0.1 * np.random.random(), routes, lengths, dep, lat, travel, load, capacity,
                                  max_travel, route_of, inserted[n_inserted:])
        for i in range(c):
            in_pool[pool[i]] = False
        in_pool[seed_visit] = False
        # Value of the trial: route costs of the vehicles changed, penalties of the visits now out.
        trial = value
        for t in range(nv):
            v = vehicles[t]
            trial += travel[v] - saved_travel[v]
        for i in range(n_removed):
            trial += penalty[removed[i]]
        for i in range(n_inserted):
            trial -= penalty[inserted[i]]
        # Accept a worse plan by up to ``threshold`` of the route costs of the visits one step ruins (the
        # plan's route costs, penalties aside, times max_removed / n), falling to 0 over the time.
        plan_travel = 0.0
        for v in range(vehicle_count):
            plan_travel += saved_travel[v] if saved[v] else travel[v]
        slack = threshold * max(0.0, 1.0 - progress) * plan_travel * max_removed / n
        if feasible and trial < value + slack:
            value = trial
            for t in range(nv):
                dirty[vehicles[t]] = True
            if value < best_value - 1e-9:
                best_value = value
                for v in range(vehicle_count):
                    if dirty[v]:
                        best_routes[v, : lengths[v]] = routes[v, : lengths[v]]
                        best_lengths[v] = lengths[v]
                        dirty[v] = False
        else:
            for t in range(nv):
                v = vehicles[t]
                for i in range(lengths[v]):
                    route_of[routes[v, i]] = -1
            for t in range(nv):
                v = vehicles[t]
                lengths[v] = saved_lengths[v]
                routes[v, : lengths[v]] = saved_routes[v, : lengths[v]]
                for i in range(lengths[v]):
                    route_of[routes[v, i]] = v
                _reschedule(p, v, routes, lengths, dep, lat, travel, load)
        for t in range(nv):
            saved[vehicles[t]] = False
            chosen[vehicles[t]] = False
    return value, best_value
