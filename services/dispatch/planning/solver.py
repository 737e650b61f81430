"""The planner's entry point: a problem and a travel provider in, a plan out. Never raises for an
over-constrained day: what cannot be served comes back unassigned with a reason."""

from __future__ import annotations

import time as wallclock
from dataclasses import replace

from .decomposition import solve_decomposed
from .instance import RoutingInstance, build_instance
from .model import (
    BreakRule,
    Plan,
    PlanKpis,
    PlanningOptions,
    PlanningProblem,
    Route,
    ScheduledBreak,
    Shift,
    SolveStatus,
    Stop,
    UnassignedReason,
    UnassignedVisit,
    Visit,
)
from .ortools_model import solve_instance
from .raw import RawRoute, RawSolution, each_visit_once
from .reasons import diagnose
from .replan_rules import promises_held_by_windows
from .route_evaluator import RouteEvaluator
from .search import compiled_fits, regret_insertion, ruin_and_recreate
from .travel import TravelTimeProvider


def plan_routes(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions | None = None) -> Plan:
    """Plans (or re-plans, with ``problem.pins``/``previous_routes``) every technician-day of the horizon."""
    options = options or PlanningOptions()
    began = wallclock.perf_counter()
    instance = build_instance(problem, travel)
    # the limit is wall time: the plan's conversion (re-timing, reasons: ~0.1-0.2 s on 1,000 visits) fits in it too
    reserve = min(0.03 * options.time_limit, 0.3)
    remaining = max(0.05, options.time_limit - reserve - (wallclock.perf_counter() - began))
    raw = solve_routing_instance(instance, options, remaining)
    return to_plan(instance, raw, options, wallclock.perf_counter() - began)


def solve_routing_instance(instance: RoutingInstance, options: PlanningOptions, time_limit: float) -> RawSolution:
    return each_visit_once(_solve_routing_instance(instance, options, time_limit))


def _solve_routing_instance(instance: RoutingInstance, options: PlanningOptions, time_limit: float) -> RawSolution:
    if options.balance_cost <= 0 and instance.visits:
        began = wallclock.perf_counter()
        evaluator = RouteEvaluator(instance, options)
        # The numpy search knows no pins or change budget: a re-plan too large for the compiled one stays on the model;
        # so does one whose budget counts retimes the windows allow (see promises_held_by_windows).
        if not (instance.pins or instance.initial_routes) or (
            compiled_fits(evaluator) and promises_held_by_windows(instance)
        ):
            return _solve_by_search(evaluator, options, time_limit - (wallclock.perf_counter() - began))
    n = len(instance.visits)
    if n > options.decomposition_threshold or (
        time_limit >= options.lns_min_time and n > 2 * options.subproblem_visits
    ):
        return solve_decomposed(instance, options, time_limit)
    return solve_instance(instance, options, time_limit)


def _solve_by_search(evaluator: RouteEvaluator, options: PlanningOptions, time_limit: float) -> RawSolution:
    """Our regret insertion (for a re-plan: from the previous routes) and ruin-and-recreate, then OR-Tools
    warm-started from the result. Pins and the change budget hold in both; workload balance is the model's alone.
    Territory crossing costs are priced by the compiled search, the evaluator's route costs and the model (the numpy
    search of very large days chooses insertions without them).
    """
    began = wallclock.perf_counter()
    instance = evaluator.instance
    # Never past the limit: on a huge day with a short limit, what is not placed in time stays out.
    solution = regret_insertion(evaluator, 0.8 * time_limit - (wallclock.perf_counter() - began))
    left = time_limit - (wallclock.perf_counter() - began)
    large = len(instance.visits) > options.decomposition_threshold
    polish = left * (1.0 - options.ruin_recreate_share)
    if large and polish < MIN_DECOMPOSED_POLISH and options.ruin_recreate_share > 0:
        polish = 0.0  # too short for the decomposition's sub-problems (it ran 0.46 s as 0.71 s): ours takes it all
    if options.ruin_recreate_share > 0:
        solution = ruin_and_recreate(
            evaluator,
            solution,
            left - polish,
            seed=options.seed,
            max_removed=options.ruin_max_removed,
            threshold=options.ruin_threshold,
            open_routes=options.ruin_open_route,
        )
    left = time_limit - (wallclock.perf_counter() - began)
    if left < 0.05 or polish == 0.0 or not any(solution.routes):
        return evaluator.raw_solution(solution)
    warm = replace(instance, initial_routes=tuple(tuple(r) for r in solution.routes))
    if large:
        ours = evaluator.raw_solution(solution)  # the decomposition starts from it
        polished = solve_decomposed(warm, options, time_limit - (wallclock.perf_counter() - began), start=ours)
        return polished if _keeps_the_rules(evaluator, polished) else ours
    # Our plan in the model's terms is needed only if the model does not improve on it: OR-Tools gets all the time.
    polished = solve_instance(warm, options, left, require_warm_start=True)
    return polished if _keeps_the_rules(evaluator, polished) else evaluator.raw_solution(solution)


MIN_DECOMPOSED_POLISH = 1.0  # seconds: below this a day above the decomposition threshold is not polished


def _keeps_the_rules(evaluator: RouteEvaluator, polished: RawSolution) -> bool:
    """A solution of the model, and one that keeps the re-plan's order and change budget: the decomposition's
    sub-problems each count moves among their own visits only, so together they may spend a budget twice."""
    if polished.status not in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL):
        return False
    routes: list[tuple[int, ...]] = [() for _ in evaluator.vehicles]
    for route in polished.routes:
        routes[route.vehicle] = route.visits
    return not evaluator.rules.broken(routes)


def _route(instance: RoutingInstance, raw: RawRoute, resolution: float) -> Route:
    """The raw route with every stop and break at its earliest feasible time (waiting only where a window
    forces it) and the departure as late as keeps the first stop's time; the raw times if that ever fails."""
    return _earliest_route(instance, raw, resolution) or _raw_route(instance, raw, resolution)


def _break_rules(shift: Shift, raw: RawRoute, resolution: float) -> list[BreakRule] | None:
    """The rule of each raw break (in raw order), or None if they can't be matched."""
    rules = list(shift.breaks)
    matched = []
    for start, duration in raw.breaks:
        for rule in rules:
            low, high = rule.earliest_start / resolution - 1, rule.latest_start / resolution + 1
            if low <= start <= high and abs(duration * resolution - rule.duration) <= resolution:
                matched.append(rule)
                rules.remove(rule)
                break
        else:
            return None
    return matched


def _earliest_start(visit: Visit, pin_start: float | None, ready: float, slack: float) -> float | None:
    """The earliest start from ``ready`` that a pinned time or a window allows (a window's end may be missed by
    less than a tick, as the model's rounding allows)."""
    if pin_start is not None:
        return max(ready, pin_start)
    if not visit.windows:
        return ready
    for window in sorted(visit.windows, key=lambda w: w.start):
        if window.end + slack >= ready:
            return max(ready, window.start)
    return None


def _after_breaks(departure: float, leg: float, pending: list[BreakRule]) -> tuple[float, float, list[ScheduledBreak]]:
    """Ready time (arrived, breaks taken) and the arrival, leaving at ``departure`` with breaks on the way."""
    clock, taken = departure, []
    for rule in pending:
        start = max(clock, rule.earliest_start)
        taken.append(ScheduledBreak(start, start + rule.duration))
        clock = start + rule.duration
    paused = sum(rule.duration for rule in pending)
    return max(clock, departure + leg + paused), departure + leg + paused, taken


def _breaks_before(departure: float, earliest: float, pending: list[BreakRule]) -> list[ScheduledBreak] | None:
    """The breaks taken before leaving at ``departure`` (each as late as its rule allows), or None if they don't fit."""
    taken, cursor = [], departure
    for rule in reversed(pending):
        start = min(rule.latest_start, cursor - rule.duration)
        if start < max(rule.earliest_start, earliest) - 1e-6:
            return None
        taken.append(ScheduledBreak(start, start + rule.duration))
        cursor = start
    return taken[::-1]


def _earliest_route(instance: RoutingInstance, raw: RawRoute, resolution: float) -> Route | None:
    vehicle = instance.vehicles[raw.vehicle]
    shift = vehicle.shift
    rules = _break_rules(shift, raw, resolution)
    if rules is None or not raw.visits:
        return None
    gaps: list[list[BreakRule]] = [[] for _ in range(len(raw.visits) + 1)]
    for (start, _), rule in zip(raw.breaks, rules, strict=True):
        gaps[sum(1 for s in raw.service_starts if s < start)].append(rule)
    nodes = [instance.visit_nodes[k] for k in raw.visits]
    slack = resolution + 1e-6

    def forward(departure: float, first_gap: list[BreakRule]) -> tuple[list[Stop], list[ScheduledBreak], float] | None:
        """Stops at their earliest starts leaving at ``departure``; None if a rule breaks or one is later than raw."""
        stops: list[Stop] = []
        breaks: list[ScheduledBreak] = []
        node = vehicle.start_node
        for i, k in enumerate(raw.visits):
            leg = float(instance.travel[node, nodes[i]])
            ready, arrival, taken = _after_breaks(departure, leg, first_gap if i == 0 else gaps[i])
            pin = instance.pins.get(k)
            start = _earliest_start(instance.visits[k], pin.start_time if pin else None, ready, slack)
            if start is None or start > raw.service_starts[i] * resolution + slack:
                return None
            breaks += taken
            arrival = min(arrival, start)
            stops.append(
                Stop(
                    instance.visits[k].id,
                    arrival,
                    start,
                    start + instance.visits[k].service_duration,
                    leg,
                    start - arrival,
                )
            )
            departure, node = stops[-1].departure, nodes[i]
        end, _, taken = _after_breaks(departure, float(instance.travel[node, vehicle.end_node]), gaps[-1])
        breaks += taken
        rules_of = first_gap + [r for gap in gaps[1:] for r in gap]
        if any(b.start > r.latest_start + slack for b, r in zip(breaks, rules_of, strict=True)):
            return None
        return stops, breaks, end

    first = forward(shift.start, gaps[0])
    if first is None:
        return None
    stops, breaks, end = first
    departure = shift.start
    # leave just in time for the first stop (a break due before it taken beforehand), not hours early to wait
    just_in_time = stops[0].start - stops[0].travel_from_previous
    if just_in_time > shift.start + 1e-6:
        before = _breaks_before(just_in_time, shift.start, gaps[0])
        later = forward(just_in_time, []) if before is not None else None
        if before is not None and later is not None and abs(later[0][0].start - stops[0].start) < 1e-6:
            stops, breaks, end = later[0], before + later[1], later[2]
            departure = just_in_time
    if end > shift.end + shift.overtime_limit + slack:
        return None
    back = float(instance.travel[nodes[-1], vehicle.end_node])
    return Route(
        technician_id=vehicle.technician.id,
        day=shift.day,
        start_time=departure,
        end_time=end,
        stops=tuple(stops),
        breaks=tuple(sorted(breaks, key=lambda b: b.start)),
        return_travel=back,
        travel_time=sum(s.travel_from_previous for s in stops) + back,
        overtime=max(0.0, end - shift.end),
    )


def _raw_route(instance: RoutingInstance, raw: RawRoute, resolution: float) -> Route:
    vehicle = instance.vehicles[raw.vehicle]
    breaks = tuple(ScheduledBreak(s * resolution, (s + d) * resolution) for s, d in raw.breaks)
    stops = []
    node = vehicle.start_node
    departure = raw.start * resolution
    travel_total = 0.0
    for k, start_tick in zip(raw.visits, raw.service_starts, strict=True):
        visit = instance.visits[k]
        leg = float(instance.travel[node, instance.visit_nodes[k]])
        start = start_tick * resolution
        paused = sum(b.end - b.start for b in breaks if departure <= b.start < start)
        arrival = min(start, departure + leg + paused)
        stops.append(Stop(visit.id, arrival, start, start + visit.service_duration, leg, start - arrival))
        travel_total += leg
        departure = start + visit.service_duration
        node = instance.visit_nodes[k]
    back = float(instance.travel[node, vehicle.end_node]) if stops else 0.0
    end = raw.end * resolution if stops else raw.start * resolution
    return Route(
        technician_id=vehicle.technician.id,
        day=vehicle.shift.day,
        start_time=raw.start * resolution,
        end_time=end,
        stops=tuple(stops),
        breaks=breaks,
        return_travel=back,
        travel_time=travel_total + back,
        overtime=max(0.0, end - vehicle.shift.end),
    )


def to_plan(instance: RoutingInstance, raw: RawSolution, options: PlanningOptions, wall_time: float) -> Plan:
    routes = tuple(_route(instance, r, options.time_resolution) for r in raw.routes if r.visits)
    served = {k for r in raw.routes for k in r.visits}
    previously = {k for route in instance.previous_routes for k in route}
    unassigned = []
    for k, visit in enumerate(instance.visits):
        if k in served:
            continue
        if raw.status in (SolveStatus.NO_SOLUTION, SolveStatus.INVALID):
            reason, detail = UnassignedReason.NO_SOLUTION, f"solver status {raw.status.value}"
        else:
            reason, detail = diagnose(instance, k, k in previously)
        unassigned.append(UnassignedVisit(visit.id, visit.priority, reason, detail))
    visit_of = {v.id: v for v in instance.visits}
    lateness = [
        (s.start - d, visit_of[s.visit_id])
        for r in routes
        for s in r.stops
        if (d := visit_of[s.visit_id].sla_deadline) is not None and s.start > d
    ]
    travel = sum(r.travel_time for r in routes)
    overtime = sum(r.overtime for r in routes)
    dropped = sum(options.drop_penalty_of(visit_of[u.visit_id]) for u in unassigned)
    shift_of = {(v.technician.id, v.shift.day): v.shift for v in instance.vehicles}
    crossings = sum(1 for r in raw.routes if instance.crossing for k in r.visits if r.vehicle in instance.crossing[k])
    objective = (
        travel
        + dropped
        + sum(options.sla_cost_of(visit) * late for late, visit in lateness)
        + sum(options.overtime_cost_of(shift_of[r.technician_id, r.day]) * r.overtime for r in routes)
        + instance.crossing_cost * crossings
    )
    kpis = PlanKpis(
        travel_time=travel,
        assigned=len(served),
        unassigned=len(unassigned),
        unassigned_priority_weight=dropped,
        overtime=overtime,
        sla_misses=len(lateness),
        objective=objective,
        wall_time=wall_time,
        territory_crossings=crossings,
    )
    return Plan(raw.status, routes, tuple(unassigned), kpis)
