"""``RouteEvaluator``: the one Python statement of the planner's feasibility rules and route costs,
in the integer ticks of the routing model; the yardstick the tests hold the compiled search to.

It schedules a batch of candidate routes of one technician-day at once (one numpy step per stop):
windows (several), skills (via ``allowed``), shift start, hard end with soft overtime, breaks,
capacity, max travel, SLA lateness. Ticks and rounding are the routing model's (the helpers below
derive them once: ``shift_ticks``, ``break_ticks``, ``window_ticks``, ``deadline_ticks``), so a route
feasible here is feasible there and can warm-start it. It also prices insertions into a route (for the
numpy search, numpy_search.py) and turns a plan into the routing model's terms (``raw_solution``).

A break is taken on the leg whose departure is the last one before the break's latest start (or on
the way home): it may run during the drive or while waiting, never during service, as in the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .instance import RoutingInstance, Ticks, VehicleShift
from .model import BreakRule, PlanningOptions, Shift, SolveStatus, Visit
from .raw import RawRoute, RawSolution
from .replan_rules import ReplanRules

IntArray = npt.NDArray[np.int64]
# Per leg of a route: departure, arrival before and after a break, service start, end of the window
# started in, break taken on the leg, room before a pending break is due, the taken break's latest and
# earliest start.
_LegRecord = tuple[float, float, float, float, float, bool, float, float, float]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
INF = math.inf
_NO_DEADLINE = 1e300  # later than any start, yet finite


# --- the rules' numbers in ticks: derived once, here, for the evaluator, the compiled kernels and the model ---


@dataclass(frozen=True, slots=True)
class ShiftTicks:
    """A shift in ticks, rounded inwards: leave no earlier than ``start``, overtime is paid past ``soft_end``,
    back by ``hard_end`` (the shift end plus its overtime limit); drive at most ``max_travel`` (None: no cap)."""

    start: int
    soft_end: int
    hard_end: int
    max_travel: int | None


def shift_ticks(shift: Shift, ticks: Ticks) -> ShiftTicks:
    return ShiftTicks(
        start=ticks.up(shift.start),
        soft_end=ticks.down(shift.end),
        hard_end=ticks.down(shift.end + shift.overtime_limit),
        max_travel=None if shift.max_travel is None else ticks.down(shift.max_travel),
    )


def horizon_ticks(vehicles: tuple[VehicleShift, ...], ticks: Ticks) -> int:
    """One tick past the latest hard end of any technician-day: no time the rules allow lies beyond it."""
    return max((shift_ticks(v.shift, ticks).hard_end for v in vehicles), default=0) + 1


def break_ticks(rule: BreakRule, ticks: Ticks) -> tuple[int, int, int]:
    """(earliest start, latest start, duration) of a break, its start range rounded inwards."""
    return ticks.up(rule.earliest_start), ticks.down(rule.latest_start), ticks.up(rule.duration)


def shift_break_ticks(shift: Shift, ticks: Ticks) -> tuple[tuple[int, int, int], ...]:
    """The shift's breaks in ticks, by earliest start: the order they are taken in."""
    return tuple(sorted(break_ticks(rule, ticks) for rule in shift.breaks))


def window_ticks(visit: Visit, ticks: Ticks) -> list[tuple[int, int]]:
    """The visit's windows for its service start in ticks, rounded inwards, by start (an empty one stays
    empty: start > end); no windows means any time."""
    return sorted((ticks.up(w.start), ticks.down(w.end)) for w in visit.windows)


def deadline_ticks(visit: Visit, ticks: Ticks) -> int | None:
    """The SLA deadline for the service start in ticks (lateness is paid past it); None: no deadline."""
    return None if visit.sla_deadline is None else ticks.down(visit.sla_deadline)


def service_ticks(visit: Visit, ticks: Ticks) -> int:
    return ticks.up(visit.service_duration)


def sla_weight(visit: Visit, options: PlanningOptions) -> int:
    """Cost per tick of this visit's SLA lateness, in travel ticks (at least 1): the visit's, else the options'."""
    return max(1, round(options.sla_cost_of(visit)))


def overtime_weight(shift: Shift, options: PlanningOptions) -> int:
    """Cost per tick of overtime on this shift, in travel ticks (at least 1): the shift's, else the options'."""
    return max(1, round(options.overtime_cost_of(shift)))


def drop_penalty_ticks(options: PlanningOptions, visit: Visit, ticks: Ticks) -> int:
    """What leaving out this visit costs, in travel ticks (at least 1): its own, else its priority's default."""
    return max(1, round(options.drop_penalty_of(visit) / ticks.resolution))


@dataclass(frozen=True, slots=True)
class VehicleData:
    start_node: int
    end_node: int
    start: float
    soft_end: float
    hard_end: float
    capacity: float
    max_travel: float
    overtime_cost: float  # per tick of overtime
    breaks: tuple[tuple[float, float, float], ...]  # (earliest start, latest start, duration), by earliest
    # Rows earliest, latest, duration; a last column that never triggers keeps indexing in range.
    break_table: FloatArray


def _vehicle_data(vehicle: VehicleShift, ticks: Ticks, options: PlanningOptions) -> VehicleData:
    shift = shift_ticks(vehicle.shift, ticks)
    breaks = tuple((float(a), float(b), float(d)) for a, b, d in shift_break_ticks(vehicle.shift, ticks))
    return VehicleData(
        start_node=vehicle.start_node,
        end_node=vehicle.end_node,
        start=float(shift.start),
        soft_end=float(shift.soft_end),
        hard_end=float(shift.hard_end),
        capacity=INF if vehicle.technician.capacity is None else float(vehicle.technician.capacity),
        max_travel=INF if shift.max_travel is None else float(shift.max_travel),
        overtime_cost=float(overtime_weight(vehicle.shift, options)),
        breaks=breaks,
        break_table=np.array((*breaks, (INF, INF, 0.0))).T,
    )


class RouteEvaluator:
    """Everything the constructor needs, as arrays in model ticks."""

    def __init__(self, instance: RoutingInstance, options: PlanningOptions) -> None:
        ticks = Ticks(options.time_resolution)
        self.instance = instance
        self.travel = ticks.up_array(instance.travel).astype(np.float64)
        np.fill_diagonal(self.travel, 0.0)
        visits = instance.visits
        n = len(visits)
        self.node = np.asarray(instance.visit_nodes, dtype=np.int64)
        self.service = np.array([service_ticks(v, ticks) for v in visits], dtype=np.float64)
        self.demand = np.array([v.demand for v in visits], dtype=np.float64)
        deadlines = [deadline_ticks(v, ticks) for v in visits]
        self.sla = np.array([INF if d is None else d for d in deadlines], dtype=np.float64)
        width = max([len(v.windows) for v in visits] + [1])
        self.window_start = np.full((n, width), INF)
        self.window_end = np.full((n, width), -INF)
        horizon = horizon_ticks(instance.vehicles, ticks)
        for k, v in enumerate(visits):
            windows: list[tuple[float, float]] = [(a, b) for a, b in window_ticks(v, ticks)] or [(-INF, INF)]
            pin = instance.pins.get(k)
            if pin is not None and pin.start_time is not None:
                # a dispatcher's fixed time wins over the windows; one no shift holds leaves the visit unservable
                fixed = ticks.up(pin.start_time)
                windows = [(fixed, fixed)] if 0 <= fixed <= horizon else [(INF, -INF)]
            for w, (a, b) in enumerate(windows):
                self.window_start[k, w], self.window_end[k, w] = a, b
        self._windows = [
            [(float(a), float(b)) for a, b in zip(starts, ends, strict=True) if a <= b]
            for starts, ends in zip(self.window_start, self.window_end, strict=True)
        ]
        self.penalty = np.array([drop_penalty_ticks(options, v, ticks) for v in visits], dtype=np.float64)
        self.rules = ReplanRules.of(instance, ticks, options)
        self.penalty[list(instance.pins)] = self.rules.pinned_penalty
        self.has_sla = bool(np.any(self.sla < INF))
        self._sla_bound = np.minimum(self.sla, _NO_DEADLINE)  # finite: start - deadline is never inf - inf
        # Per visit: the cost of a tick late (lateness is summed weighted: a route costs travel + late + overtime).
        self.sla_cost = np.array([sla_weight(v, options) for v in visits], dtype=np.float64)
        self.vehicles = tuple(_vehicle_data(v, ticks, options) for v in instance.vehicles)
        # Without breaks, soft overtime or SLA costs, a route's cost is its travel and an insertion is
        # feasible iff the pushed next stop still starts by its latest start: O(1) per candidate and position.
        self._simple = {
            k for k, v in enumerate(self.vehicles) if not self.has_sla and not v.breaks and v.soft_end >= v.hard_end
        }
        # Regret beyond this counts as "only one place left" (a typical leg, four times over).
        sample = self.node[:: max(1, n // 300)]
        self.regret_cap = float(np.median(self.travel[np.ix_(sample, sample)])) * 4.0 + 1.0 if n else 1.0
        self._histories: dict[tuple[int, tuple[int, ...]], tuple[_Legs, FloatArray]] = {}
        self._schedules: dict[tuple[int, tuple[int, ...]], _Slack] = {}
        self.allowed = np.zeros((n, len(instance.vehicles)), dtype=bool)
        for k, vehicles in enumerate(instance.allowed):
            self.allowed[k, list(vehicles)] = True
        # visit x vehicle: what serving it costs from outside the site's territory, in ticks (as the routing model)
        self.crossing = np.zeros((n, len(instance.vehicles)))
        for k, crossers in enumerate(instance.crossing):
            self.crossing[k, list(crossers)] = ticks.up(instance.crossing_cost)

    def evaluate(self, vehicle: int, routes: IntArray) -> tuple[BoolArray, FloatArray]:
        """Feasibility and cost (travel + SLA lateness + overtime, in ticks) of each row of ``routes``."""
        count, length = routes.shape
        if length == 0:
            return np.ones(count, dtype=bool), np.zeros(count)
        v = self.vehicles[vehicle]
        state = _Legs.at_start(v, count)
        for step in range(length):
            self._leg(v, state, routes[:, step], np.zeros(count, dtype=bool))
        self._leg(v, state, routes[:, 0], np.ones(count, dtype=bool))
        if v.capacity < INF:
            state.ok &= self.demand[routes].sum(axis=1) <= v.capacity
        return state.ok, np.where(state.ok, state.cost(), INF)

    def _leg(
        self,
        v: VehicleData | _VehicleRows,
        s: _Legs,
        visit: IntArray,
        home: BoolArray,
        record: list[_LegColumns] | None = None,
    ) -> None:
        """Drive to ``visit`` (or, where ``home``, to the end location), taking a break on the way if due.

        The one statement of the rules in Python: windows, breaks, SLA lateness, hard end and overtime
        (compiled_search._leg is its compiled twin). With ``record``, appends what ``_push_costs`` and
        ``schedule`` need to know of the leg (``_LegColumns``).
        """
        any_home = bool(home.any())
        if any_home:
            node = np.where(home, v.end_node, self.node[visit])
            service = np.where(home, 0.0, self.service[visit])
        else:
            node, service = self.node[visit], self.service[visit]
        departure, pending = s.clock, s.pending
        leg = self.travel[s.here, node]
        s.travel = s.travel + leg
        arrival = raw_arrival = s.clock + leg
        start = self._start(visit, arrival, home, any_home)
        take: BoolArray | None = None  # a break on this leg (None: no breaks at all)
        break_room: FloatArray | None = None
        if v.breaks:
            earliest, latest, duration = v.break_table[:, pending]
            due = pending < len(v.breaks)
            # Take it on this leg if service here would end after its latest start, or on the way home.
            take = due & (home | (start + service > latest))
            if record is not None:
                with np.errstate(invalid="ignore"):  # inf - inf where it is not due or taken: not kept
                    break_room = np.where(due & ~take, latest - start - service, INF)
            if take.any():
                s.ok = s.ok & (~take | (s.clock <= latest))
                arrival = np.where(take, np.maximum(arrival, earliest) + duration, arrival)
                s.pending = s.pending + take
                start = self._start(visit, arrival, home, any_home)
        s.ok = s.ok & (start < INF)
        if self.has_sla:
            sla = np.where(home, _NO_DEADLINE, self._sla_bound[visit]) if any_home else self._sla_bound[visit]
            weight = np.where(home, 0.0, self.sla_cost[visit]) if any_home else self.sla_cost[visit]
            s.late = s.late + np.where((start > sla) & (start < INF), weight * (start - sla), 0.0)
        s.clock = start + service
        s.here = node
        if any_home:
            s.ok &= ~home | ((arrival <= v.hard_end) & (s.pending == len(v.breaks)) & (s.travel <= v.max_travel))
            s.overtime = s.overtime + np.where(home, v.overtime_cost * np.maximum(0.0, arrival - v.soft_end), 0.0)
        if record is not None:
            earliest, latest, duration = v.break_table[:, pending]
            if take is None or break_room is None:
                take, break_room = np.zeros(len(start), dtype=bool), np.full(len(start), INF)
            # The end of the window the service starts in (the start itself if none: it is inf then).
            opens, closes = self.window_start[visit], self.window_end[visit]
            inside = (opens <= start[:, None]) & (start[:, None] <= closes)
            window_end = np.where(inside.any(axis=1), np.where(inside, closes, -INF).max(axis=1), start)
            if any_home:
                window_end = np.where(home, INF, window_end)
            record.append(
                _LegColumns(
                    departure, raw_arrival, arrival, start, window_end, take, break_room, latest, earliest, duration
                )
            )

    def _start(self, visit: IntArray, arrival: FloatArray, home: BoolArray, any_home: bool) -> FloatArray:
        start = self._window_start(visit, arrival)
        return np.where(home, arrival, start) if any_home else start

    def _history(self, vehicle: int, route: list[int]) -> tuple[_Legs, FloatArray]:
        """Row i: the route's state before its stop i (row m: before the way home; row m + 1: at the end),
        and what delaying row i's departure costs the rest (``_push_costs``).

        Cached per route: a search keeps asking about the routes it did not change.
        """
        key = (vehicle, tuple(route))
        found = self._histories.get(key)
        if found is None:
            if len(self._histories) > 50_000:
                self._histories.clear()
            state, legs, _ = self._walk(vehicle, route)
            found = self._histories[key] = (state, self._push_costs(self.vehicles[vehicle], route, legs))
        return found

    def _push_costs(self, v: VehicleData, route: list[int], legs: list[_LegRecord]) -> FloatArray:
        """Per row of ``_walk`` (rows 0..m): what a delay of that departure costs the rest of the route,
        and two bounds past which it makes the route infeasible.

        Rows ``room``, ``free``, ``slope``: a delay d <= room keeps every later window, break decision and
        the hard end as they were and costs exactly slope * max(0, d - free) (SLA lateness downstream,
        overtime at the end), waiting absorbing the first part. Where two kinks would meet, the room is
        cut at the second. An insertion whose schedule meets the old one within the room can stop
        walking there: the suffix summary that makes the general path (breaks, SLA, overtime) nearly as
        cheap as the VRPTW one. Rows ``rest`` (driving and service left) and ``latest departure`` (windows
        and hard end, breaks ignored) let it stop walking rows that cannot end in time.
        """
        m = len(route)
        table = np.zeros((5, m + 2))
        table[0, m + 1] = INF
        room, free, slope = INF, 0.0, 0.0  # of the departure from the stop after the current leg
        rest, latest_departure = 0.0, v.hard_end
        for i in range(m, -1, -1):
            clock, raw_arrival, arrival, start, window_end, took, break_room, latest, earliest = legs[i]
            # Bounds that breaks can only tighten: driving and service left, and the latest departure
            # that windows and the hard end allow.
            leg = raw_arrival - clock
            if i < m:
                service = float(self.service[route[i]])
                rest += service
                bound = latest_departure - service
                latest_departure = self._latest_start(route[i], bound)
            rest += leg
            latest_departure -= leg
            table[3:, i] = rest, latest_departure
            if start == INF:
                room, free, slope = 0.0, 0.0, 0.0
            elif i == m:  # the way home: overtime past the soft end, infeasible past the hard end
                room = v.hard_end - arrival
                free, slope = max(0.0, v.soft_end - arrival), (v.overtime_cost if v.soft_end < v.hard_end else 0.0)
            else:
                # A delay p of this start: its own lateness sla_cost * max(0, p - own) plus the rest's.
                room = min(room, window_end - start, break_room)
                sla = float(self.sla[route[i]])
                own_slope = float(self.sla_cost[route[i]]) if sla < INF else 0.0
                own = max(0.0, sla - start)
                if own_slope > 0 and own < room:
                    if slope == 0 or own == free:
                        free, slope = own, slope + own_slope
                    elif own < free:
                        room, free, slope = min(room, free), own, own_slope
                    else:
                        room = own
                # Waiting at this stop absorbs the first part of the delay.
                wait = start - arrival
                room, free = room + wait, free + wait
            if took:  # still taken when later; waiting for its earliest start absorbs delay
                absorb = max(0.0, earliest - raw_arrival)
                room, free = min(latest - clock, absorb + room), free + absorb
            room = max(0.0, room)
            table[:3, i] = room, free, slope
        return table

    def _walks(self, vehicles: Sequence[int], routes: Sequence[list[int]]) -> list[_Walked]:
        """Routes of several technician-days, leg by leg through ``_leg``: one batch per set of break rules,
        a step per stop of its longest route (a route already home stays as it is).

        Per route: its state at the start, before each stop, before the way home and at the end (rows
        0..m + 1); per leg (departure, arrival, start, end of the window started in, break taken on it, room
        before a pending break is due, ...); and the (start, duration) of each break taken.
        """
        walked: list[_Walked] = [_Walked(_Legs.at_start(self.vehicles[v], 1), [], []) for v in vehicles]
        groups: dict[tuple[tuple[float, float, float], ...], list[int]] = {}
        for i, v in enumerate(vehicles):
            groups.setdefault(self.vehicles[v].breaks, []).append(i)
        for members in groups.values():
            fleet = _VehicleRows.of([self.vehicles[vehicles[i]] for i in members])
            lengths = np.asarray([len(routes[i]) for i in members], dtype=np.int64)
            count, steps = len(members), int(lengths.max()) + 1
            stops = np.zeros((count, steps), dtype=np.int64)  # padded with visit 0: never driven to
            for row, i in enumerate(members):
                stops[row, : lengths[row]] = routes[i]
            state = _Legs.at_start(fleet, count)
            states = [state]
            legs: list[list[npt.NDArray[Any]]] = []  # per step, per column of _LegColumns: every row
            for step in range(steps):
                live = np.flatnonzero(lengths >= step)
                moving = state.take(live)
                record: list[_LegColumns] = []
                self._leg(fleet.take(live), moving, stops[live, step], lengths[live] == step, record)
                state = state.take(np.arange(count))  # a copy: the rows already home stay as they were
                state.put(live, moving)
                states.append(state)
                columns: list[npt.NDArray[Any]] = []
                for column in record[0]:
                    full: npt.NDArray[Any] = np.zeros(count, dtype=column.dtype)
                    full[live] = column
                    columns.append(full)
                legs.append(columns)
            by_step = _Legs.stack_steps(states)
            leg_columns = [np.stack([columns[c] for columns in legs]) for c in range(len(_LegColumns._fields))]
            for row, i in enumerate(members):
                m = int(lengths[row])
                own = by_step.column(row, m + 2)
                per_leg = zip(*(column[: m + 1, row].tolist() for column in leg_columns), strict=True)
                records: list[_LegRecord] = []
                breaks: list[tuple[float, float]] = []
                for (
                    departure,
                    raw_arrival,
                    arrival,
                    start,
                    window_end,
                    took,
                    room,
                    latest,
                    earliest,
                    duration,
                ) in per_leg:
                    records.append((departure, raw_arrival, arrival, start, window_end, took, room, latest, earliest))
                    if took:
                        breaks.append((max(departure, earliest), duration))
                walked[i] = _Walked(own, records, breaks)
        return walked

    def _walk(self, vehicle: int, route: list[int]) -> _Walked:
        return self._walks([vehicle], [route])[0]

    def _window_start(self, visit: IntArray, arrival: FloatArray) -> FloatArray:
        """Earliest service start at or after ``arrival`` inside one of the visit's windows (inf: none)."""
        if self.window_start.shape[1] == 1:
            start = np.maximum(arrival, self.window_start[visit, 0])
            single: FloatArray = np.where(start <= self.window_end[visit, 0], start, INF)
            return single
        starts = np.maximum(arrival[..., None], self.window_start[visit])
        starts = np.where(starts <= self.window_end[visit], starts, INF)
        result: FloatArray = starts.min(axis=-1)
        return result

    def _latest_start(self, visit: int, bound: float) -> float:
        """Latest service start at or before ``bound`` inside one of the visit's windows (-inf: none)."""
        return max((min(b, bound) for a, b in self._windows[visit] if a <= bound), default=-INF)

    def _schedule(self, vehicle: int, route: list[int]) -> _Slack:
        """Departures from the start and each stop; latest start of each stop (and end) keeping the rest feasible."""
        v = self.vehicles[vehicle]
        m = len(route)
        nodes = np.asarray([v.start_node, *self.node[route].tolist(), v.end_node], dtype=np.int64)
        leg_array = self.travel[nodes[:-1], nodes[1:]]
        legs = leg_array.tolist()
        service = self.service[route].tolist()
        departure = self._walk(vehicle, route).state.clock[: m + 1]  # from the start and each stop (no breaks)
        # Latest start of each stop that keeps the rest of the route feasible; the end: the hard end.
        latest = [0.0] * (m + 1)
        bound = latest[m] = v.hard_end
        for i in range(m - 1, -1, -1):
            bound = latest[i] = self._latest_start(route[i], bound - service[i] - legs[i + 1])
        return _Slack(
            departure[:, None],
            np.asarray(latest)[:, None],
            float(sum(legs)),
            nodes[:-1, None],
            nodes[1:, None],
            leg_array[:, None],
            np.asarray(route, dtype=np.int64)[:, None],
            float(self.demand[route].sum()),
        )

    def _insertions_by_slack(self, vehicle: int, route: list[int], candidates: IntArray) -> tuple[FloatArray, IntArray]:
        v = self.vehicles[vehicle]
        m = len(route)
        key = (vehicle, tuple(route))
        known = self._schedules.get(key)
        if known is None:
            if len(self._schedules) > 20_000:
                self._schedules.clear()
            known = self._schedules[key] = self._schedule(vehicle, route)
        j_node = self.node[candidates]
        to_j = self.travel[known.prev_node, j_node]  # (positions, candidates)
        from_j = self.travel[j_node, known.next_node]
        start_j = self._window_start(candidates[None, :], known.departure + to_j)
        arrival_next = start_j + self.service[candidates] + from_j
        if self.window_start.shape[1] == 1:
            # One window: the pushed start fits by its latest start iff the arrival does (latest >= opening).
            ok = (start_j < INF) & (arrival_next <= known.latest)
        else:
            pushed = np.empty_like(arrival_next)
            pushed[m] = arrival_next[m]
            if m:
                pushed[:m] = self._window_start(known.route, arrival_next[:m])
            ok = (start_j < INF) & (pushed <= known.latest)
        if v.capacity < INF:
            ok &= known.demand + self.demand[candidates] <= v.capacity
        delta = to_j + from_j - known.leg
        if v.max_travel < INF:
            ok &= known.travel + delta <= v.max_travel
        cost = np.where(ok, delta, INF)
        position = cost.argmin(axis=0)
        return cost[position, np.arange(len(candidates))], position

    def schedule(self, vehicle: int, route: list[int]) -> RawRoute:
        """The route in the routing model's terms: service starts, break starts, start and end (ticks)."""
        return self._raw_route(vehicle, route, self._walk(vehicle, route))

    def _raw_route(self, vehicle: int, route: list[int], walked: _Walked) -> RawRoute:
        clock = walked.state.clock
        starts = (clock[1:-1] - self.service[route]).round().astype(int).tolist()
        taken = tuple((round(start), round(duration)) for start, duration in walked.breaks)
        start = round(self.vehicles[vehicle].start)
        return RawRoute(vehicle, tuple(route), tuple(starts), start, round(float(clock[-1])), taken)

    def raw_solution(self, solution: Solution) -> RawSolution:
        used = [v for v, r in enumerate(solution.routes) if r]
        walked = self._walks(used, [solution.routes[v] for v in used])
        routes = tuple(self._raw_route(v, solution.routes[v], w) for v, w in zip(used, walked, strict=True))
        return RawSolution(SolveStatus.FEASIBLE, routes, round(objective(self, solution)))

    def broken_rules(self, routes: Sequence[Sequence[int]]) -> list[str]:
        """Every rule ``routes`` (per vehicle) break: each visit once, who may serve it, each route's schedule
        (windows, a pin's fixed time, breaks, hard end, capacity, max travel) and the re-plan's rules."""
        broken = list(self.rules.broken(routes))
        served = [k for route in routes for k in route]
        if len(served) != len(set(served)):
            broken.append("a visit on two routes")
        for v, route in enumerate(routes):
            if any(not self.allowed[k, v] for k in route):
                broken.append(f"vehicle {v}: a visit it may not serve")
            if route and not self.evaluate(v, np.asarray([route], dtype=np.int64))[0][0]:
                broken.append(f"vehicle {v}: infeasible schedule")
        return broken

    def route_cost(self, vehicle: int, route: list[int]) -> float:
        """Travel, SLA lateness and overtime, plus the territory crossings of its visits."""
        if not route:
            return 0.0
        crossings = float(self.crossing[route, vehicle].sum())
        if vehicle in self._simple:  # feasible by construction: insertions were checked
            v = self.vehicles[vehicle]
            nodes = [v.start_node, *self.node[route].tolist(), v.end_node]
            return float(self.travel[nodes[:-1], nodes[1:]].sum()) + crossings
        ok, cost = self.evaluate(vehicle, np.asarray([route], dtype=np.int64))
        return float(cost[0]) + crossings if ok[0] else INF

    def insertions(
        self, vehicle: int, route: list[int], candidates: IntArray, cost_now: float | None = None
    ) -> tuple[FloatArray, IntArray]:
        """Cheapest feasible insertion of each candidate into ``route``: (extra cost or inf, position)."""
        m = len(route)
        if len(candidates) == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        if vehicle in self._simple:
            return self._insertions_by_slack(vehicle, route, candidates)
        v = self.vehicles[vehicle]
        c = len(candidates)
        base = np.asarray([*route, 0], dtype=np.int64)
        # The route itself, leg by leg: the state before each stop (and before the way home), and after.
        stacked, push_cost = self._history(vehicle, route)
        breaks_left = v.break_table[2][::-1].cumsum()[::-1]  # durations of the breaks from the k-th on
        if not stacked.ok[-1]:
            return np.full(c, INF), np.zeros(c, dtype=np.int64)
        if cost_now is None:
            cost_now = float(stacked.cost()[-1])
        # One row per (position, candidate): start from the route's state at the position, drive to the
        # candidate, then along the rest of the route until the schedule meets the old one again.
        position = np.repeat(np.arange(m + 1), c)
        rows = stacked.take(position)
        self._leg(v, rows, np.tile(candidates, m + 1), np.zeros(len(position), dtype=bool))
        if v.capacity < INF:
            fits = self.demand[route].sum() + self.demand[candidates] <= v.capacity
            rows.ok &= np.tile(fits, m + 1)
        total = np.full(len(position), INF)
        live = np.flatnonzero(rows.ok)
        rows = rows.take(live)
        nxt = position[live]
        while len(live):
            home = nxt == m
            self._leg(v, rows, base[nxt], home)
            ended = home & rows.ok
            total[live[ended]] = rows.cost()[ended]
            after = stacked.take(nxt + 1)
            # Same breaks as the old route after this stop and a departure delayed within its room: the
            # rest of the route costs what it did plus the known price of the delay.
            push = rows.clock - after.clock
            room, free, slope, rest, latest_departure = push_cost[:, nxt + 1]
            met = rows.ok & ~home & (rows.pending == after.pending) & (push >= 0) & (push <= room)
            if met.any():
                travel = rows.travel[met] - after.travel[met] + stacked.travel[-1]
                late = rows.late[met] - after.late[met] + stacked.late[-1]
                delay = slope[met] * np.maximum(0.0, push[met] - free[met])
                total[live[met]] = np.where(
                    travel <= v.max_travel,
                    travel + late + stacked.overtime[-1] + delay,
                    INF,
                )
            going = rows.ok & ~home & ~met & (rows.clock <= latest_departure)
            going &= rows.clock + rest + breaks_left[rows.pending] <= v.hard_end
            rows = rows.take(np.flatnonzero(going))
            live, nxt = live[going], nxt[going] + 1
        cost = total.reshape(m + 1, c)
        best = cost.argmin(axis=0)
        return cost[best, np.arange(c)] - cost_now, best


@dataclass(frozen=True, slots=True)
class _Slack:
    """One route of the VRPTW path, as columns over insertion positions (before stop i; m: before home)."""

    departure: FloatArray  # from the stop before the position
    latest: FloatArray  # latest start of the stop after it (the hard end for home)
    travel: float
    prev_node: IntArray
    next_node: IntArray
    leg: FloatArray  # travel from prev_node to next_node
    route: IntArray  # the stops, m rows
    demand: float


@dataclass(frozen=True, slots=True)
class _VehicleRows:
    """Technician-days with the same breaks, one per row: what ``_leg`` reads of a vehicle, as columns."""

    start_node: IntArray
    end_node: IntArray
    start: FloatArray
    soft_end: FloatArray
    hard_end: FloatArray
    max_travel: FloatArray
    overtime_cost: FloatArray
    breaks: tuple[tuple[float, float, float], ...]
    break_table: FloatArray

    @staticmethod
    def of(vehicles: list[VehicleData]) -> _VehicleRows:
        def column(name: str, dtype: type) -> npt.NDArray[Any]:
            return np.asarray([getattr(v, name) for v in vehicles], dtype=dtype)

        return _VehicleRows(
            column("start_node", np.int64),
            column("end_node", np.int64),
            column("start", np.float64),
            column("soft_end", np.float64),
            column("hard_end", np.float64),
            column("max_travel", np.float64),
            column("overtime_cost", np.float64),
            vehicles[0].breaks,
            vehicles[0].break_table,
        )

    def take(self, rows: IntArray) -> _VehicleRows:
        return _VehicleRows(
            self.start_node[rows],
            self.end_node[rows],
            self.start[rows],
            self.soft_end[rows],
            self.hard_end[rows],
            self.max_travel[rows],
            self.overtime_cost[rows],
            self.breaks,
            self.break_table,
        )


class _Walked(NamedTuple):
    """One route as ``_walks`` drove it."""

    state: _Legs  # rows 0..m + 1
    legs: list[_LegRecord]
    breaks: list[tuple[float, float]]  # (start, duration) of each break taken


class _LegColumns(NamedTuple):
    """One leg of a batch of routes, as ``_leg`` drove it (per row)."""

    departure: FloatArray
    raw_arrival: FloatArray  # before a break taken on the leg
    arrival: FloatArray
    start: FloatArray  # of service (at home: the arrival)
    window_end: FloatArray  # of the window the service starts in
    took: BoolArray  # a break on this leg
    break_room: FloatArray  # how much later service could end before the pending break is due
    latest: FloatArray  # the latest start of the break pending before the leg (inf: none)
    earliest: FloatArray  # its earliest start
    duration: FloatArray


@dataclass(slots=True)
class _Legs:
    """Where a batch of candidate routes stands: after the last stop driven to, with what so far."""

    clock: FloatArray  # departure time from ``here``
    here: IntArray
    travel: FloatArray
    late: FloatArray  # SLA lateness, each visit's weighted by its cost per tick
    overtime: FloatArray  # weighted by the technician-day's cost per tick
    pending: IntArray  # the next break to take
    ok: BoolArray

    @staticmethod
    def at_start(v: VehicleData | _VehicleRows, count: int) -> _Legs:
        return _Legs(
            np.full(count, v.start),
            np.full(count, v.start_node, dtype=np.int64),
            np.zeros(count),
            np.zeros(count),
            np.zeros(count),
            np.zeros(count, dtype=np.int64),
            np.ones(count, dtype=bool),
        )

    @staticmethod
    def stack_steps(states: list[_Legs]) -> _Legs:
        """Rows of the same routes after each step: each column becomes (steps, rows)."""
        return _Legs(*(np.stack([getattr(state, name) for state in states]) for name in _Legs.__slots__))

    def column(self, row: int, steps: int) -> _Legs:
        """Of ``stack_steps``: one route's first ``steps`` states."""
        return _Legs(*(getattr(self, name)[:steps, row] for name in _Legs.__slots__))

    def put(self, rows: IntArray, other: _Legs) -> None:
        for name in _Legs.__slots__:
            getattr(self, name)[rows] = getattr(other, name)

    def take(self, rows: IntArray) -> _Legs:
        return _Legs(
            self.clock[rows],
            self.here[rows],
            self.travel[rows],
            self.late[rows],
            self.overtime[rows],
            self.pending[rows],
            self.ok[rows],
        )

    def cost(self) -> FloatArray:
        result: FloatArray = self.travel + self.late + self.overtime
        return result


@dataclass(slots=True)
class Solution:
    routes: list[list[int]]
    costs: list[float]

    def copy(self) -> Solution:
        return Solution([list(r) for r in self.routes], list(self.costs))


def objective(evaluator: RouteEvaluator, solution: Solution) -> float:
    served = np.zeros(len(evaluator.instance.visits), dtype=bool)
    for route in solution.routes:
        served[route] = True
    return float(sum(solution.costs) + evaluator.penalty[~served].sum())
