"""Regret insertion and ruin-and-recreate compiled with numba: the planner's search for fresh plans.

The same moves and acceptance as the numpy version in construction.py, whose cost was call overhead,
in machine code. Two ways to price an insertion into a route:

- a vehicle whose route cost is its travel (no breaks, no soft overtime, no SLA deadlines on the day:
  the VRPTW benchmarks) keeps two columns per route, departure from each stop and latest start of each
  stop, and an insertion is an O(1) test per position: the pushed next stop still starts by its latest
  start (``RouteEvaluator._insertions_by_slack``);
- any other vehicle keeps the route's state before each stop (clock, travel, SLA lateness, breaks taken)
  and walks the rest of the route from the insertion point, as ``RouteEvaluator._leg`` does, until the
  schedule meets the old one again (from there the rest costs what it did).

Numbers are the routing model's integer ticks, as floats. ``Day`` holds what a day's routes share,
``PlanState`` one plan; both are built by construction._CompiledState.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

INF = math.inf
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Day(NamedTuple):
    """What every route of the day shares, in ticks: per node pair, per visit, per vehicle (technician-day)."""

    travel: FloatArray  # node x node
    node: IntArray  # per visit: its node
    service: FloatArray
    window_start: FloatArray  # visit x window (padded with inf / -inf)
    window_end: FloatArray
    demand: FloatArray
    start_node: IntArray  # per vehicle
    end_node: IntArray
    start: FloatArray
    hard_end: FloatArray
    soft_end: FloatArray  # overtime is paid beyond it
    breaks: FloatArray  # vehicle x break x (earliest start, latest start, duration), by earliest start
    break_count: IntArray
    sla: FloatArray  # per visit: the deadline for its start (1e300: none)
    sla_cost: float  # per tick late
    overtime_cost: float  # per tick of overtime
    max_travel: FloatArray
    simple: BoolArray  # per vehicle: its route cost is its travel (the O(1) insertion test applies)
    capacity: FloatArray
    allowed: BoolArray  # visit x vehicle: skills, days, shifts
    penalty: FloatArray  # per visit: the cost of leaving it out
    regret_cap: float  # regret beyond this counts as "only one place left"


class PlanState(NamedTuple):
    """One plan: routes as rows, and what is known of each route (rows per vehicle, columns per stop)."""

    routes: IntArray  # vehicle x stop: visits in order
    lengths: IntArray
    departure: FloatArray  # vehicle x stop: departure from the stop before stop i (simple vehicles)
    latest_start: FloatArray  # vehicle x stop: latest start of stop i keeping the rest feasible (simple vehicles)
    cost: FloatArray  # per vehicle: travel + SLA lateness + overtime, weighted
    travel: FloatArray
    load: FloatArray
    clock_before: FloatArray  # vehicle x stop: the state before stop i (after leaving the stop before it)
    travel_before: FloatArray
    late_before: FloatArray
    breaks_before: IntArray  # breaks taken
    route_of: IntArray  # per visit: its vehicle, or -1


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
def _leg(day: Day, v: int, clock: float, here: int, travel: float, late: float, pending: int, k: int
         ) -> tuple[bool, float, int, float, float, int]:
    """Drive from ``here`` (left at ``clock``) to visit k, or home when k < 0, taking a break on the way
    if due; the state after (departure from k, or arrival home). As ``RouteEvaluator._leg``."""
    T, node, service, ws, we = day.travel, day.node, day.service, day.window_start, day.window_end
    breaks, n_breaks, sla = day.breaks, day.break_count, day.sla
    home = k < 0
    there = day.end_node[v] if home else node[k]
    serve = 0.0 if home else service[k]
    leg = T[here, there]
    travel += leg
    arrival = clock + leg
    start = arrival if home else _window_start(ws, we, k, arrival)
    ok = True
    if pending < n_breaks[v]:
        earliest, latest, duration = breaks[v, pending, 0], breaks[v, pending, 1], breaks[v, pending, 2]
        # Take it on this leg if service here would end after its latest start, or on the way home.
        if home or start + serve > latest:
            ok = clock <= latest
            arrival = max(arrival, earliest) + duration
            pending += 1
            start = arrival if home else _window_start(ws, we, k, arrival)
    ok = ok and start < INF
    if not home and start > sla[k] and ok:
        late += start - sla[k]
    return ok, start + serve, there, travel, late, pending


@njit(cache=True, nogil=True)
def _home_cost(day: Day, v: int, arrival: float, travel: float, late: float, pending: int) -> float:
    """The route's cost given its arrival home (inf if that breaks the hard end, a break or max travel)."""
    if arrival > day.hard_end[v] or pending != day.break_count[v] or travel > day.max_travel[v]:
        return INF
    return float(travel + day.sla_cost * late + day.overtime_cost * max(0.0, arrival - day.soft_end[v]))


@njit(cache=True, nogil=True)
def _reschedule(day: Day, plan: PlanState, v: int) -> bool:
    """Vehicle v's route state: cost, travel, load, the state before each stop and, where its cost is its
    travel, departures and latest starts. False if the route is infeasible."""
    T, node, service, ws, we, demand = day.travel, day.node, day.service, day.window_start, day.window_end, day.demand
    routes, lengths, dep, lat = plan.routes, plan.lengths, plan.departure, plan.latest_start
    cost, travel, load = plan.cost, plan.travel, plan.load
    pclock, ptravel, plate, ppending = plan.clock_before, plan.travel_before, plan.late_before, plan.breaks_before
    m = lengths[v]
    clock, here, driven, late, pending = day.start[v], day.start_node[v], 0.0, 0.0, 0
    ok = True
    weight = 0.0
    for i in range(m):
        pclock[v, i], ptravel[v, i], plate[v, i], ppending[v, i] = clock, driven, late, pending
        dep[v, i] = clock
        k = routes[v, i]
        fine, clock, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, k)
        ok = ok and fine
        weight += demand[k]
    pclock[v, m], ptravel[v, m], plate[v, m], ppending[v, m] = clock, driven, late, pending
    dep[v, m] = clock
    load[v] = weight
    if m == 0:  # an idle technician-day costs nothing
        cost[v], travel[v] = 0.0, 0.0
    else:
        fine, arrival, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, -1)
        cost[v] = _home_cost(day, v, arrival, driven, late, pending) if ok and fine else INF
        travel[v] = driven
    if day.simple[v]:  # latest start of each stop that keeps the rest feasible; the end: the hard end
        bound = day.hard_end[v]
        lat[v, m] = bound
        nxt = day.end_node[v]
        for i in range(m - 1, -1, -1):
            k = routes[v, i]
            bound = _latest_start(ws, we, k, bound - service[k] - T[node[k], nxt])
            lat[v, i] = bound
            nxt = node[k]
    return bool(cost[v] < INF)


@njit(cache=True, nogil=True)
def _best_insertion(day: Day, plan: PlanState, v: int, k: int) -> tuple[float, int]:
    """Cheapest feasible insertion of visit k into vehicle v's route: (extra cost or inf, position)."""
    T, node, service, ws, we, demand = day.travel, day.node, day.service, day.window_start, day.window_end, day.demand
    routes, lengths, dep, lat = plan.routes, plan.lengths, plan.departure, plan.latest_start
    cost, travel, load = plan.cost, plan.travel, plan.load
    if load[v] + demand[k] > day.capacity[v]:
        return INF, 0
    simple = day.simple[v]
    m = lengths[v]
    j = node[k]
    best, where = INF, 0
    prev = day.start_node[v]
    for pos in range(m + 1):
        nxt = node[routes[v, pos]] if pos < m else day.end_node[v]
        delta = T[prev, j] + T[j, nxt] - (T[prev, nxt] if m else 0.0)
        # Delaying the rest never makes it cheaper: the extra travel bounds the extra cost from below.
        if delta < best and travel[v] + delta <= day.max_travel[v]:
            if simple:
                start = _window_start(ws, we, k, dep[v, pos] + T[prev, j])
                if start < INF:
                    arrival = start + service[k] + T[j, nxt]
                    if pos < m:
                        arrival = _window_start(ws, we, routes[v, pos], arrival)
                    if arrival <= lat[v, pos]:
                        best, where = delta, pos
            else:
                extra = _walk_from(day, plan, v, pos, k, prev) - cost[v]
                if extra < best:
                    best, where = extra, pos
        prev = nxt
    return best, where


@njit(cache=True, nogil=True)
def _walk_from(day: Day, plan: PlanState, v: int, pos: int, k: int, prev: int) -> float:
    """Cost of vehicle v's route with visit k inserted before stop ``pos`` (inf if infeasible)."""
    routes, lengths, cost = plan.routes, plan.lengths, plan.cost
    pclock, ptravel, plate, ppending = plan.clock_before, plan.travel_before, plan.late_before, plan.breaks_before
    m = lengths[v]
    ok, clock, here, driven, late, pending = _leg(day, v, pclock[v, pos], prev, ptravel[v, pos], plate[v, pos],
                                                   ppending[v, pos], k)
    if not ok:
        return INF
    for i in range(pos, m):
        ok, clock, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, routes[v, i])
        if not ok:
            return INF
        if clock == pclock[v, i + 1] and pending == ppending[v, i + 1]:
            # Back on the old schedule: the rest of the route costs what it did.
            extra_travel = driven - ptravel[v, i + 1]
            if plan.travel[v] + extra_travel > day.max_travel[v]:
                return INF
            return float(cost[v] + extra_travel + day.sla_cost * (late - plate[v, i + 1]))
    ok, arrival, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, -1)
    return _home_cost(day, v, arrival, driven, late, pending) if ok else INF


@njit(cache=True, nogil=True)
def reschedule_all(day: Day, plan: PlanState) -> bool:
    feasible = True
    for v in range(len(plan.lengths)):
        feasible &= _reschedule(day, plan, v)
    return feasible


# --- regret insertion ----------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _insert(day: Day, plan: PlanState, pool: IntArray, vehicles: IntArray, noise: float, inserted: IntArray) -> int:
    """Regret-2 insertion of ``pool`` into ``vehicles``' routes (noisy scores when ``noise`` > 0); what does
    not fit stays out. Writes the visits inserted to ``inserted`` and returns how many."""
    allowed, penalty, regret_cap = day.allowed, day.penalty, day.regret_cap
    routes, lengths, route_of = plan.routes, plan.lengths, plan.route_of
    c, nv = len(pool), len(vehicles)
    extra = np.full((c, nv), INF)
    where = np.zeros((c, nv), dtype=np.int64)
    open_ = np.ones(c, dtype=np.bool_)
    for col in range(nv):
        v = vehicles[col]
        for i in range(c):
            if allowed[pool[i], v]:
                extra[i, col], where[i, col] = _best_insertion(day, plan, v, pool[i])
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
        _reschedule(day, plan, v)
        inserted[count] = k
        count += 1
        open_[chosen] = False
        extra[chosen, :] = INF
        for i in range(c):
            if open_[i] and allowed[pool[i], v]:
                extra[i, chosen_col], where[i, chosen_col] = _best_insertion(day, plan, v, pool[i])


@njit(cache=True, nogil=True)
def construct(day: Day, plan: PlanState) -> int:
    """Regret insertion of every visit into the routes (scheduled); returns how many were placed."""
    n, vehicles = len(plan.route_of), len(plan.lengths)
    return _insert(day, plan, np.arange(n), np.arange(vehicles), 0.0, np.empty(n, dtype=np.int64))


# --- ruin and recreate ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def seed_random(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True, nogil=True)
def search(day: Day, plan: PlanState, neighbours: IntArray, vehicle_to_visit: FloatArray, best_routes: IntArray,
           best_lengths: IntArray, dirty: BoolArray, value: float, best_value: float, steps: int, max_removed: int,
           threshold: float, progress: float, open_routes: float) -> tuple[float, float]:
    """``steps`` ruin-and-recreate steps from the current plan (changed in place).

    Accepts a trial no worse than the current value plus a threshold that falls to 0 as ``progress`` goes
    from 0 to 1; copies each new best into ``best_routes`` (only the routes changed since the last best:
    ``dirty``). Returns the current and the best value."""
    allowed, penalty = day.allowed, day.penalty
    routes, lengths, cost, route_of = plan.routes, plan.lengths, plan.cost, plan.route_of
    n, vehicle_count = len(route_of), len(lengths)
    width = routes.shape[1]
    saved_routes = np.empty((vehicle_count, width), dtype=np.int64)
    saved_lengths = np.empty(vehicle_count, dtype=np.int64)
    saved_cost = np.empty(vehicle_count)
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
            saved_cost[v] = cost[v]
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
                saved_cost[v] = cost[v]
                saved[v] = True
        # Removing stops keeps a route feasible but for a break that was due later (and a window
        # reached earlier never hurts): a ruin that breaks a route is given up.
        feasible = True
        for t in range(n_touched):
            feasible &= _reschedule(day, plan, touched[t])
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
                    extra, _ = _best_insertion(day, plan, v, seed_visit)
                    if extra < INF:
                        routes[v, 0] = seed_visit
                        lengths[v] = 1
                        route_of[seed_visit] = v
                        _reschedule(day, plan, v)
                        inserted[0] = seed_visit
                        n_inserted = 1
                        for i in range(c):
                            if pool[i] == seed_visit:
                                pool[i] = pool[c - 1]
                                c -= 1
                                break
                    break
        if feasible:
            n_inserted += _insert(day, plan, pool[:c], vehicles[:nv], 0.1 * np.random.random(), inserted[n_inserted:])
        for i in range(c):
            in_pool[pool[i]] = False
        in_pool[seed_visit] = False
        # Value of the trial: route costs of the vehicles changed, penalties of the visits now out.
        trial = value
        plan_cost = 0.0  # the current plan's route costs
        for v in range(vehicle_count):
            plan_cost += saved_cost[v] if saved[v] else cost[v]
        for t in range(nv):
            v = vehicles[t]
            trial += cost[v] - saved_cost[v]
        for i in range(n_removed):
            trial += penalty[removed[i]]
        for i in range(n_inserted):
            trial -= penalty[inserted[i]]
        # Accept a worse plan by up to ``threshold`` of the route costs of the visits one step ruins (the
        # plan's route costs, penalties aside, times max_removed / n), falling to 0 over the time.
        slack = threshold * max(0.0, 1.0 - progress) * plan_cost * max_removed / n
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
                _reschedule(day, plan, v)
        for t in range(nv):
            saved[vehicles[t]] = False
            chosen[vehicles[t]] = False
    return value, best_value
