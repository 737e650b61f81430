"""Regret insertion and ruin-and-recreate compiled with numba: the planner's search for fresh plans.

The same moves and acceptance as the numpy version in numpy_search.py, whose cost was call overhead,
in machine code. Two ways to price an insertion into a route:

- a vehicle whose route cost is its travel (no breaks, no soft overtime, no SLA deadlines on the day:
  the VRPTW benchmarks) also keeps the latest start of each stop, and an insertion is an O(1) test per
  position: the pushed next stop still starts by its latest start (``RouteEvaluator._insertions_by_slack``);
- any other vehicle keeps the route's state before each stop (clock, travel, SLA lateness, breaks taken)
  and walks the rest of the route from the insertion point, as ``RouteEvaluator._leg`` does, until the
  schedule meets the old one again (from there the rest costs what it did).

Numbers are the routing model's integer ticks, as floats. ``Day`` holds what a day's routes share,
``PlanState`` one plan; both are built by search.CompiledState.
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
    sla_cost: FloatArray  # per visit: the cost of a tick late (lateness is summed weighted)
    overtime_cost: FloatArray  # per vehicle: the cost of a tick of overtime
    max_travel: FloatArray
    simple: BoolArray  # per vehicle: its route cost is its travel (the O(1) insertion test applies)
    capacity: FloatArray
    allowed: BoolArray  # visit x vehicle: skills, days, shifts
    crossing: FloatArray  # visit x vehicle: what serving it costs from outside the site's territory
    penalty: FloatArray  # per visit: the cost of leaving it out
    regret_cap: float  # regret beyond this counts as "only one place left"
    # A re-plan's rules (replan_rules.py): pinned order, frozen stops, the change budget.
    rank: IntArray  # per visit: pinned position on its route (-1: none)
    frozen: BoolArray  # per visit: at the head of its route, only frozen visits before it
    ordered: bool  # some route has an order to keep
    previous_vehicle: IntArray  # per visit: whose previous route held it (-1: none)
    budget: IntArray  # per vehicle: how many visits of its previous route may leave it


class PlanState(NamedTuple):
    """One plan: routes as rows, and what is known of each route (rows per vehicle, columns per stop)."""

    routes: IntArray  # vehicle x stop: visits in order
    lengths: IntArray
    latest_start: FloatArray  # vehicle x stop: latest start of stop i keeping the rest feasible (simple vehicles)
    cost: FloatArray  # per vehicle: travel + SLA lateness + overtime, weighted, + its visits' territory crossings
    travel: FloatArray
    load: FloatArray
    clock_before: FloatArray  # vehicle x stop: the state before stop i: departure from the stop before it, ...
    travel_before: FloatArray
    late_before: FloatArray
    breaks_before: IntArray  # breaks taken
    route_of: IntArray  # per visit: its vehicle, or -1
    moved: IntArray  # per vehicle: visits of its previous route now on another vehicle


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
def _leg(
    day: Day, v: int, clock: float, here: int, travel: float, late: float, pending: int, k: int
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
        late += day.sla_cost[k] * (start - sla[k])
    return ok, start + serve, there, travel, late, pending


@njit(cache=True, nogil=True)
def _home_cost(day: Day, v: int, arrival: float, travel: float, late: float, pending: int) -> float:
    """The route's cost given its arrival home (inf if that breaks the hard end, a break or max travel)."""
    if arrival > day.hard_end[v] or pending != day.break_count[v] or travel > day.max_travel[v]:
        return INF
    return float(travel + late + day.overtime_cost[v] * max(0.0, arrival - day.soft_end[v]))


@njit(cache=True, nogil=True)
def _crossings(day: Day, plan: PlanState, v: int) -> float:
    """What vehicle v's visits cost it for being outside their sites' territories (the same wherever they stand)."""
    total = 0.0
    for i in range(plan.lengths[v]):
        total += day.crossing[plan.routes[v, i], v]
    return total


@njit(cache=True, nogil=True)
def _reschedule(day: Day, plan: PlanState, v: int) -> bool:
    """Vehicle v's route state: cost, travel, load, the state before each stop and, where its cost is its
    travel, latest starts. False if the route is infeasible."""
    T, node, service, ws, we, demand = day.travel, day.node, day.service, day.window_start, day.window_end, day.demand
    routes, lengths, lat = plan.routes, plan.lengths, plan.latest_start
    cost, travel, load = plan.cost, plan.travel, plan.load
    pclock, ptravel, plate, ppending = plan.clock_before, plan.travel_before, plan.late_before, plan.breaks_before
    m = lengths[v]
    clock, here, driven, late, pending = day.start[v], day.start_node[v], 0.0, 0.0, 0
    ok = True
    weight = 0.0
    for i in range(m):
        pclock[v, i], ptravel[v, i], plate[v, i], ppending[v, i] = clock, driven, late, pending
        k = routes[v, i]
        fine, clock, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, k)
        ok = ok and fine
        weight += demand[k]
    pclock[v, m], ptravel[v, m], plate[v, m], ppending[v, m] = clock, driven, late, pending
    load[v] = weight
    if m == 0:  # an idle technician-day costs nothing
        cost[v], travel[v] = 0.0, 0.0
    else:
        fine, arrival, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, -1)
        cost[v] = _home_cost(day, v, arrival, driven, late, pending) + _crossings(day, plan, v) if ok and fine else INF
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
def _assign(day: Day, plan: PlanState, k: int, v: int) -> None:
    """Put visit k on vehicle v (-1: out of the plan), keeping the change budget's count of moved visits."""
    old, p = plan.route_of[k], day.previous_vehicle[k]
    if p >= 0:
        if old >= 0 and old != p:
            plan.moved[p] -= 1
        if v >= 0 and v != p:
            plan.moved[p] += 1
    plan.route_of[k] = v


@njit(cache=True, nogil=True)
def _over_budget(day: Day, plan: PlanState, k: int, v: int) -> bool:
    """Whether putting visit k (now out of the plan) on vehicle v would move one visit too many off a route."""
    p = day.previous_vehicle[k]
    return bool(p >= 0 and p != v and plan.moved[p] >= day.budget[p])


@njit(cache=True, nogil=True)
def _position_range(day: Day, plan: PlanState, v: int, k: int) -> tuple[int, int]:
    """The insertion positions of visit k into vehicle v's route that keep the pinned order and the frozen
    head: lo..hi (none if lo > hi)."""
    rank, frozen = day.rank, day.frozen
    m = plan.lengths[v]
    lo, hi = 0, m
    for i in range(m):
        s = plan.routes[v, i]
        if frozen[s] and not frozen[k]:
            lo = max(lo, i + 1)
        elif frozen[k] and not frozen[s]:
            hi = min(hi, i)
        if rank[k] >= 0 and rank[s] >= 0:
            if rank[s] < rank[k]:
                lo = max(lo, i + 1)
            elif rank[s] > rank[k]:
                hi = min(hi, i)
    return lo, hi


@njit(cache=True, nogil=True)
def _order_kept(day: Day, plan: PlanState, v: int) -> bool:
    """Whether vehicle v's route keeps the pinned order and the frozen head."""
    last_rank, head = -1, True
    for i in range(plan.lengths[v]):
        s = plan.routes[v, i]
        if day.frozen[s] and not head:
            return False
        head = head and day.frozen[s]
        if day.rank[s] >= 0:
            if day.rank[s] < last_rank:
                return False
            last_rank = day.rank[s]
    return True


@njit(cache=True, nogil=True)
def _best_insertion(day: Day, plan: PlanState, v: int, k: int) -> tuple[float, int]:
    """Cheapest feasible insertion of visit k into vehicle v's route: (extra cost or inf, position)."""
    T, node, service, ws, we, demand = day.travel, day.node, day.service, day.window_start, day.window_end, day.demand
    routes, lengths, lat, departure = plan.routes, plan.lengths, plan.latest_start, plan.clock_before
    cost, travel, load = plan.cost, plan.travel, plan.load
    if load[v] + demand[k] > day.capacity[v] or _over_budget(day, plan, k, v):
        return INF, 0
    simple = day.simple[v]
    m = lengths[v]
    lo, hi = 0, m
    if day.ordered:
        lo, hi = _position_range(day, plan, v, k)
    j = node[k]
    best, where = INF, 0
    prev = day.start_node[v]
    for pos in range(m + 1):
        nxt = node[routes[v, pos]] if pos < m else day.end_node[v]
        delta = T[prev, j] + T[j, nxt] - (T[prev, nxt] if m else 0.0)
        # Delaying the rest never makes it cheaper: the extra travel bounds the extra cost from below.
        if delta < best and travel[v] + delta <= day.max_travel[v] and lo <= pos <= hi:
            if simple:
                start = _window_start(ws, we, k, departure[v, pos] + T[prev, j])
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
    return best + day.crossing[k, v], where  # a crossing costs the same in every position


@njit(cache=True, nogil=True)
def _walk_from(day: Day, plan: PlanState, v: int, pos: int, k: int, prev: int) -> float:
    """Cost of vehicle v's route with visit k inserted before stop ``pos`` (inf if infeasible)."""
    routes, lengths, cost = plan.routes, plan.lengths, plan.cost
    pclock, ptravel, plate, ppending = plan.clock_before, plan.travel_before, plan.late_before, plan.breaks_before
    m = lengths[v]
    ok, clock, here, driven, late, pending = _leg(
        day, v, pclock[v, pos], prev, ptravel[v, pos], plate[v, pos], ppending[v, pos], k
    )
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
            return float(cost[v] + extra_travel + (late - plate[v, i + 1]))
    ok, arrival, here, driven, late, pending = _leg(day, v, clock, here, driven, late, pending, -1)
    # the route's own crossings, as in cost[v] (visit k's are the caller's)
    return _home_cost(day, v, arrival, driven, late, pending) + _crossings(day, plan, v) if ok else INF


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
    routes, lengths = plan.routes, plan.lengths
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
        _assign(day, plan, k, v)
        _reschedule(day, plan, v)
        inserted[count] = k
        count += 1
        open_[chosen] = False
        extra[chosen, :] = INF
        p = day.previous_vehicle[k]
        if p >= 0 and p != v and plan.moved[p] >= day.budget[p]:
            # p's budget is spent: no other visit of its previous route may now go elsewhere
            for i in range(c):
                if open_[i] and day.previous_vehicle[pool[i]] == p:
                    for col in range(nv):
                        if vehicles[col] != p:
                            extra[i, col] = INF
        for i in range(c):
            if open_[i] and allowed[pool[i], v]:
                extra[i, chosen_col], where[i, chosen_col] = _best_insertion(day, plan, v, pool[i])


@njit(cache=True, nogil=True)
def construct(day: Day, plan: PlanState) -> int:
    """Regret insertion of every visit into the routes (scheduled); returns how many were placed."""
    n, vehicles = len(plan.route_of), len(plan.lengths)
    return _insert(day, plan, np.arange(n), np.arange(vehicles), 0.0, np.empty(n, dtype=np.int64))


@njit(cache=True, nogil=True)
def construct_from(day: Day, plan: PlanState, previous: IntArray, previous_lengths: IntArray) -> int:
    """A re-plan's first plan: each technician-day keeps its previous route (visits it may still serve) as it was
    if that is still feasible and in order, else gets back what regret insertion fits of it; then regret
    insertion of every visit still out into every route. Returns how many visits were placed."""
    n, vehicles = len(plan.route_of), len(plan.lengths)
    inserted = np.empty(n, dtype=np.int64)
    own = np.empty(n, dtype=np.int64)
    for v in range(vehicles):
        c = 0
        for i in range(previous_lengths[v]):
            k = previous[v, i]
            if day.allowed[k, v] and plan.route_of[k] < 0:
                own[c] = k
                c += 1
                plan.routes[v, plan.lengths[v]] = k
                plan.lengths[v] += 1
                _assign(day, plan, k, v)
        if not (_reschedule(day, plan, v) and _order_kept(day, plan, v)):
            for i in range(plan.lengths[v]):
                _assign(day, plan, plan.routes[v, i], -1)
            plan.lengths[v] = 0
            _reschedule(day, plan, v)
            _insert(day, plan, own[:c], np.array([v]), 0.0, inserted)
    out = np.flatnonzero(plan.route_of < 0)
    _insert(day, plan, out, np.arange(vehicles), 0.0, inserted)
    return int((plan.route_of >= 0).sum())


# --- ruin and recreate ---------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def seed_random(seed: int) -> None:
    np.random.seed(seed)


class _Step(NamedTuple):
    """Work arrays of the ruin-and-recreate steps, allocated once per ``search`` call: what a step saved to
    undo (per vehicle), which vehicles it touched and offers, what it removed, pooled and inserted."""

    saved_routes: IntArray
    saved_lengths: IntArray
    saved_cost: FloatArray
    saved: BoolArray
    touched: IntArray
    chosen: BoolArray
    vehicles: IntArray
    removed: IntArray
    pool: IntArray
    in_pool: BoolArray
    inserted: IntArray


@njit(cache=True, nogil=True)
def _step_arrays(vehicle_count: int, width: int, n: int) -> _Step:
    return _Step(
        np.empty((vehicle_count, width), dtype=np.int64),
        np.empty(vehicle_count, dtype=np.int64),
        np.empty(vehicle_count),
        np.zeros(vehicle_count, dtype=np.bool_),
        np.empty(vehicle_count, dtype=np.int64),
        np.zeros(vehicle_count, dtype=np.bool_),
        np.empty(vehicle_count, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.zeros(n, dtype=np.bool_),
        np.empty(n, dtype=np.int64),
    )


@njit(cache=True, nogil=True)
def _save(plan: PlanState, work: _Step, v: int) -> None:
    """Keep vehicle v's route as it is, to undo the step (once per step)."""
    if not work.saved[v]:
        m = plan.lengths[v]
        work.saved_routes[v, :m] = plan.routes[v, :m]
        work.saved_lengths[v] = m
        work.saved_cost[v] = plan.cost[v]
        work.saved[v] = True


@njit(cache=True, nogil=True)
def _random_assigned_visit(route_of: IntArray) -> int:
    """A visit on some route, uniformly; -1 if none is."""
    assigned = 0
    for k in range(len(route_of)):
        if route_of[k] >= 0:
            assigned += 1
    if assigned == 0:
        return -1
    pick = np.random.randint(assigned)
    for k in range(len(route_of)):
        if route_of[k] >= 0:
            if pick == 0:
                return k
            pick -= 1
    return -1


@njit(cache=True, nogil=True)
def _ruin(
    day: Day, plan: PlanState, work: _Step, neighbours: IntArray, seed_visit: int, max_removed: int
) -> tuple[int, int]:
    """Remove strings around the seed from up to a few neighbouring routes (SISR-like): each route met among the
    seed's nearest visits loses a random string through that visit (frozen stops stay where they are). Returns
    (visits removed, routes touched)."""
    routes, lengths, route_of = plan.routes, plan.lengths, plan.route_of
    target = np.random.randint(max(2, max_removed // 3), max_removed + 1)
    max_string = max(2, target // 2)
    n_removed, n_touched = 0, 0
    for r in range(len(route_of)):
        k = neighbours[seed_visit, r]
        v = route_of[k]
        if v < 0 or work.saved[v]:
            continue
        _save(plan, work, v)
        work.touched[n_touched] = v
        n_touched += 1
        m = lengths[v]
        length = np.random.randint(1, min(m, max_string) + 1)
        at = 0
        while routes[v, at] != k:
            at += 1
        first = np.random.randint(max(0, at - length + 1), min(at, m - length) + 1)
        kept = first
        for i in range(first, m):
            s = routes[v, i]
            if i < first + length and not day.frozen[s]:
                work.removed[n_removed] = s
                _assign(day, plan, s, -1)
                n_removed += 1
            else:
                routes[v, kept] = s
                kept += 1
        lengths[v] = kept
        if n_removed >= target:
            break
    return n_removed, n_touched


@njit(cache=True, nogil=True)
def _offered_vehicles(
    plan: PlanState,
    work: _Step,
    neighbours: IntArray,
    vehicle_to_visit: FloatArray,
    seed_visit: int,
    n_touched: int,
    max_removed: int,
) -> int:
    """The vehicles the step recreates into: the ruined ones, the two idle ones nearest the seed, and the routes
    of the seed's nearest visits. Written to ``work.vehicles``; returns how many."""
    lengths, route_of = plan.lengths, plan.route_of
    nv = 0
    for t in range(n_touched):
        work.vehicles[nv] = work.touched[t]
        work.chosen[work.touched[t]] = True
        nv += 1
    for _idle in range(2):
        nearest, distance = -1, INF
        for v in range(len(lengths)):
            if lengths[v] == 0 and not work.chosen[v] and vehicle_to_visit[v, seed_visit] < distance:
                nearest, distance = v, vehicle_to_visit[v, seed_visit]
        if nearest >= 0:
            work.vehicles[nv] = nearest
            work.chosen[nearest] = True
            nv += 1
    for r in range(min(len(route_of), 3 * max_removed)):
        v = route_of[neighbours[seed_visit, r]]
        if v >= 0 and not work.chosen[v] and nv < 6 + 2 * n_touched:
            work.vehicles[nv] = v
            work.chosen[v] = True
            nv += 1
    for t in range(nv):
        _save(plan, work, work.vehicles[t])
    return nv


@njit(cache=True, nogil=True)
def _fill_pool(
    plan: PlanState, work: _Step, neighbours: IntArray, seed_visit: int, n_removed: int, max_removed: int
) -> int:
    """What the step puts back: what it removed, then the unassigned visits near the seed. Returns how many."""
    c = 0
    for i in range(n_removed):
        work.pool[c] = work.removed[i]
        work.in_pool[work.removed[i]] = True
        c += 1
    for r in range(min(len(plan.route_of), 2 * max_removed)):
        k = neighbours[seed_visit, r]
        if plan.route_of[k] < 0 and not work.in_pool[k]:
            work.pool[c] = k
            work.in_pool[k] = True
            c += 1
    return c


@njit(cache=True, nogil=True)
def _open_route(day: Day, plan: PlanState, work: _Step, seed_visit: int, nv: int, c: int) -> tuple[int, int]:
    """Start the first idle offered route with the seed visit (regret insertion never pays a fresh round trip
    for one visit). Returns (visits inserted: 0 or 1, pool size after taking the seed out of it).

    The ruin may leave the seed where it was (its strings go through the seed's neighbours, and at one site they
    are all at distance 0): a seed still on a route opens nothing. Opening a route with it anyway put the visit on
    two routes, and the next insertion wrote past the end of a route's row (memory the compiled code does not
    check: the process died later)."""
    if plan.route_of[seed_visit] >= 0:
        return 0, c
    for t in range(nv):
        v = work.vehicles[t]
        if plan.lengths[v] == 0 and day.allowed[seed_visit, v]:
            extra, _ = _best_insertion(day, plan, v, seed_visit)
            if extra == INF:
                return 0, c
            plan.routes[v, 0] = seed_visit
            plan.lengths[v] = 1
            _assign(day, plan, seed_visit, v)
            _reschedule(day, plan, v)
            work.inserted[0] = seed_visit
            for i in range(c):
                if work.pool[i] == seed_visit:
                    work.pool[i] = work.pool[c - 1]
                    return 1, c - 1
            return 1, c
    return 0, c


@njit(cache=True, nogil=True)
def _undo(day: Day, plan: PlanState, work: _Step, nv: int) -> None:
    """Put the offered vehicles' routes back as they were saved."""
    for t in range(nv):
        v = work.vehicles[t]
        for i in range(plan.lengths[v]):
            _assign(day, plan, plan.routes[v, i], -1)
    for t in range(nv):
        v = work.vehicles[t]
        m = plan.lengths[v] = work.saved_lengths[v]
        plan.routes[v, :m] = work.saved_routes[v, :m]
        for i in range(m):
            _assign(day, plan, plan.routes[v, i], v)
        _reschedule(day, plan, v)


@njit(cache=True, nogil=True)
def search(
    day: Day,
    plan: PlanState,
    neighbours: IntArray,
    vehicle_to_visit: FloatArray,
    best_routes: IntArray,
    best_lengths: IntArray,
    dirty: BoolArray,
    value: float,
    best_value: float,
    steps: int,
    max_removed: int,
    threshold: float,
    progress: float,
    open_routes: float,
) -> tuple[float, float]:
    """``steps`` ruin-and-recreate steps from the current plan (changed in place).

    Accepts a trial no worse than the current value plus a threshold that falls to 0 as ``progress`` goes
    from 0 to 1; copies each new best into ``best_routes`` (only the routes changed since the last best:
    ``dirty``). Returns the current and the best value."""
    n, vehicle_count = len(plan.route_of), len(plan.lengths)
    work = _step_arrays(vehicle_count, plan.routes.shape[1], n)
    for _ in range(steps):
        seed_visit = _random_assigned_visit(plan.route_of)
        if seed_visit < 0:
            break
        n_removed, n_touched = _ruin(day, plan, work, neighbours, seed_visit, max_removed)
        nv = _offered_vehicles(plan, work, neighbours, vehicle_to_visit, seed_visit, n_touched, max_removed)
        # Removing stops keeps a route feasible but for a break that was due later (and a window
        # reached earlier never hurts): a ruin that breaks a route is given up.
        feasible = True
        for t in range(n_touched):
            feasible &= _reschedule(day, plan, work.touched[t])
        c = _fill_pool(plan, work, neighbours, seed_visit, n_removed, max_removed)
        n_inserted = 0
        if feasible and open_routes > 0.0 and np.random.random() < open_routes:
            n_inserted, c = _open_route(day, plan, work, seed_visit, nv, c)
        if feasible:
            n_inserted += _insert(
                day, plan, work.pool[:c], work.vehicles[:nv], 0.1 * np.random.random(), work.inserted[n_inserted:]
            )
        for i in range(c):
            work.in_pool[work.pool[i]] = False
        work.in_pool[seed_visit] = False
        # Value of the trial: route costs of the vehicles changed, penalties of the visits now out.
        trial = value
        plan_cost = 0.0  # the current plan's route costs
        for v in range(vehicle_count):
            plan_cost += work.saved_cost[v] if work.saved[v] else plan.cost[v]
        for t in range(nv):
            v = work.vehicles[t]
            trial += plan.cost[v] - work.saved_cost[v]
        for i in range(n_removed):
            trial += day.penalty[work.removed[i]]
        for i in range(n_inserted):
            trial -= day.penalty[work.inserted[i]]
        # Accept a worse plan by up to ``threshold`` of the route costs of the visits one step ruins (the
        # plan's route costs, penalties aside, times max_removed / n), falling to 0 over the time.
        slack = threshold * max(0.0, 1.0 - progress) * plan_cost * max_removed / n
        if feasible and trial < value + slack:
            value = trial
            for t in range(nv):
                dirty[work.vehicles[t]] = True
            if value < best_value - 1e-9:
                best_value = value
                for v in range(vehicle_count):
                    if dirty[v]:
                        best_routes[v, : plan.lengths[v]] = plan.routes[v, : plan.lengths[v]]
                        best_lengths[v] = plan.lengths[v]
                        dirty[v] = False
        else:
            _undo(day, plan, work, nv)
        for t in range(nv):
            work.saved[work.vehicles[t]] = False
            work.chosen[work.vehicles[t]] = False
    return value, best_value
