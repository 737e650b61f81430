"""Each constraint of the routing model, on a small instance where it changes the answer."""

from __future__ import annotations

import dataclasses

from services.dispatch.planning import (
    BreakRule,
    Metaheuristic,
    Pin,
    Plan,
    PlanningOptions,
    PlanningProblem,
    Priority,
    RouteAssignment,
    SolveStatus,
    TimeWindow,
    UnassignedReason,
    plan_routes,
)

from .helpers import GridTravel, H, M, at, day_shift, tech, visit

OPTIONS = PlanningOptions(time_limit=0.3)


def solve(problem: PlanningProblem, options: PlanningOptions = OPTIONS) -> Plan:
    return plan_routes(problem, GridTravel(), options)


def who(plan: Plan) -> dict[str, str]:
    return {s.visit_id: r.technician_id for r in plan.routes for s in r.stops}


def order(plan: Plan, technician_id: str) -> list[str]:
    return [s.visit_id for r in plan.routes if r.technician_id == technician_id for s in r.stops]


def reasons(plan: Plan) -> dict[str, UnassignedReason]:
    return {u.visit_id: u.reason for u in plan.unassigned}


def test_a_plain_day_ends_at_the_end_location_with_a_consistent_schedule() -> None:
    a = tech("a", at(0), end_location=at(30))
    plan = solve(PlanningProblem((a,), (visit("v2", at(20)), visit("v1", at(10)))))
    assert plan.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert order(plan, "a") == ["v1", "v2"]
    route = plan.routes[0]
    assert route.travel_time == 30 * M and route.return_travel == 10 * M
    for stop in route.stops:
        assert stop.arrival <= stop.start and stop.departure == stop.start + 30 * M
    assert plan.kpis.assigned == 2 and plan.kpis.travel_time == 30 * M


def test_skill_level_sends_the_visit_to_the_farther_qualified_technician() -> None:
    techs = (tech("junior", at(0), skills={"refrigeration": 1}), tech("senior", at(30), skills={"refrigeration": 3}))
    easy = visit("easy", at(1), required_skills={"refrigeration": 1})
    hard = visit("hard", at(2), required_skills={"refrigeration": 2})
    gas = visit("gas", at(1), required_skills={"gas": 1})
    plan = solve(PlanningProblem(techs, (easy, hard, gas)))
    assert who(plan) == {"easy": "junior", "hard": "senior"}
    assert reasons(plan) == {"gas": UnassignedReason.NO_SKILLED_TECHNICIAN}


def test_time_windows_decide_the_order() -> None:
    near = visit("near", at(10), windows=(TimeWindow(11 * H, 12 * H),))
    far = visit("far", at(20), windows=(TimeWindow(8 * H, 10 * H),))
    plan = solve(PlanningProblem((tech("a", at(0)),), (near, far)))
    assert order(plan, "a") == ["far", "near"]
    starts = {s.visit_id: s.start for r in plan.routes for s in r.stops}
    assert 11 * H <= starts["near"] <= 12 * H and starts["far"] <= 10 * H


def test_second_window_is_used_when_the_first_is_out_of_reach() -> None:
    two = visit("two", at(60), windows=(TimeWindow(8 * H, 8 * H + 30 * M), TimeWindow(13 * H, 14 * H)))
    plan = solve(PlanningProblem((tech("a", at(0)),), (two,)))
    start = plan.routes[0].stops[0].start
    assert 13 * H <= start <= 14 * H  # a one-hour drive misses the first window
    only_first = dataclasses.replace(two, windows=two.windows[:1])
    plan = solve(PlanningProblem((tech("a", at(0)),), (only_first,)))
    assert reasons(plan) == {"two": UnassignedReason.WINDOW_UNREACHABLE}


def test_shift_hours_bound_the_day() -> None:
    evening = visit("evening", at(5), windows=(TimeWindow(18 * H, 19 * H),))
    day_tech = tech("day", at(0))
    plan = solve(PlanningProblem((day_tech,), (evening,)))
    assert reasons(plan) == {"evening": UnassignedReason.OUTSIDE_EVERY_SHIFT}
    late_tech = tech("late", at(50), day_shift(start=12 * H, end=22 * H))
    plan = solve(PlanningProblem((day_tech, late_tech), (evening,)))
    assert who(plan) == {"evening": "late"}


def test_fixed_lunch_break_blocks_a_window_inside_it() -> None:
    lunch = BreakRule(duration=30 * M, earliest_start=12 * H, latest_start=12 * H)
    noon = visit("noon", at(10), service=10 * M, windows=(TimeWindow(12 * H, 12 * H + 15 * M),))
    with_lunch = tech("near", at(0), day_shift(breaks=(lunch,)))
    without = tech("far", at(40))
    plan = solve(PlanningProblem((with_lunch, without), (noon,)))
    assert who(plan) == {"noon": "far"}
    plan = solve(PlanningProblem((dataclasses.replace(with_lunch, shifts=(day_shift(),)), without), (noon,)))
    assert who(plan) == {"noon": "near"}


def test_floating_break_is_placed_inside_its_range_and_off_the_visits() -> None:
    lunch = BreakRule(duration=30 * M, earliest_start=12 * H, latest_start=14 * H)
    visits = tuple(visit(f"v{k}", at(k + 1), service=60 * M) for k in range(7))
    plan = solve(PlanningProblem((tech("a", at(0), day_shift(breaks=(lunch,))),), visits))
    route = plan.routes[0]
    assert len(route.breaks) == 1
    brk = route.breaks[0]
    assert 12 * H <= brk.start <= 14 * H and brk.end - brk.start == 30 * M
    for stop in route.stops:
        assert stop.departure <= brk.start or stop.start >= brk.end


def test_max_travel_per_shift() -> None:
    far = visit("far", at(50))
    capped = tech("capped", at(0), day_shift(max_travel=90 * M))
    plan = solve(PlanningProblem((capped,), (far,)))
    assert reasons(plan) == {"far": UnassignedReason.MAX_TRAVEL}
    plan = solve(PlanningProblem((dataclasses.replace(capped, shifts=(day_shift(max_travel=100 * M),)),), (far,)))
    assert who(plan) == {"far": "capped"}


def test_overtime_is_a_hard_limit_beyond_the_shift_end() -> None:
    late = visit("late", at(30), service=60 * M, windows=(TimeWindow(16 * H, 16 * H),))
    # 16:00 + 1 h service + 30 min back = 17:30: half an hour past the shift end.
    plan = solve(PlanningProblem((tech("a", at(0)),), (late,)))
    assert reasons(plan) == {"late": UnassignedReason.WINDOW_UNREACHABLE}
    plan = solve(PlanningProblem((tech("a", at(0), day_shift(overtime_limit=45 * M)),), (late,)))
    assert who(plan) == {"late": "a"}
    assert plan.kpis.overtime == 30 * M and plan.routes[0].overtime == 30 * M
    plan = solve(PlanningProblem((tech("a", at(0), day_shift(overtime_limit=20 * M)),), (late,)))
    assert plan.kpis.unassigned == 1


def test_overtime_costs_more_than_a_longer_drive_when_priced_so() -> None:
    job = visit("job", at(10), service=60 * M, windows=(TimeWindow(16 * H, 16 * H + 30 * M),))
    # "near" ends at 17:10 (10 min overtime); "far" has a later shift and drives 40 min each way.
    near = tech("near", at(0), day_shift(overtime_limit=H))
    far = tech("far", at(50), day_shift(start=10 * H, end=19 * H))
    cheap = dataclasses.replace(OPTIONS, overtime_cost=1.0)
    dear = dataclasses.replace(OPTIONS, overtime_cost=20.0)
    assert who(solve(PlanningProblem((near, far), (job,)), cheap)) == {"job": "near"}
    assert who(solve(PlanningProblem((near, far), (job,)), dear)) == {"job": "far"}


def test_earliest_and_latest_day() -> None:
    a = tech("a", at(0), day_shift(0), day_shift(1), day_shift(2))
    later = visit("later", at(5), earliest_day=1, latest_day=1)
    anytime = visit("anytime", at(6))
    never = visit("never", at(5), earliest_day=5)
    plan = solve(PlanningProblem((a,), (later, anytime, never)))
    days = {s.visit_id: r.day for r in plan.routes for s in r.stops}
    assert days["later"] == 1
    assert reasons(plan) == {"never": UnassignedReason.OUTSIDE_DAY_RANGE}


def test_capacity() -> None:
    techs = (tech("a", at(0), capacity=10), tech("b", at(0), capacity=10))
    visits = (visit("x", at(1), demand=6), visit("y", at(2), demand=6), visit("big", at(3), demand=11))
    plan = solve(PlanningProblem(techs, visits))
    assigned = who(plan)
    assert assigned["x"] != assigned["y"]  # 12 units do not fit one van
    assert reasons(plan) == {"big": UnassignedReason.CAPACITY}


def test_sla_deadline_is_soft_and_changes_the_order() -> None:
    near = visit("near", at(10))
    far = visit("far", at(20))
    base = PlanningProblem((tech("a", at(0), end_location=at(30)),), (near, far))
    assert order(solve(base), "a") == ["near", "far"]
    urgent_far = dataclasses.replace(far, sla_deadline=8 * H + 25 * M)
    plan = solve(dataclasses.replace(base, visits=(near, urgent_far)))
    assert order(plan, "a") == ["far", "near"] and plan.kpis.sla_misses == 0
    impossible = dataclasses.replace(far, sla_deadline=8 * H + 5 * M)
    plan = solve(dataclasses.replace(base, visits=(near, impossible)))
    assert plan.kpis.assigned == 2 and plan.kpis.sla_misses == 1  # missed, still served


def test_priority_weighted_drops_keep_the_p1_visit() -> None:
    # Room for one 4-hour job in a 5-hour shift; the P1 is farther away.
    short = day_shift(start=8 * H, end=13 * H)
    p4 = visit("p4", at(5), service=4 * H, priority=Priority.P4)
    p1 = visit("p1", at(20), service=4 * H, priority=Priority.P1)
    plan = solve(PlanningProblem((tech("a", at(0), short),), (p4, p1)))
    assert who(plan) == {"p1": "a"}
    assert reasons(plan) == {"p4": UnassignedReason.NO_TIME_LEFT}
    assert plan.kpis.unassigned_priority_weight == OPTIONS.drop_penalties[Priority.P4]


def test_over_constrained_day_returns_reasons_not_exceptions() -> None:
    visits = (visit("x", at(1)), visit("y", at(2), required_skills={"gas": 2}))
    plan = solve(PlanningProblem((), visits))
    assert plan.kpis.unassigned == 2 and plan.routes == ()
    assert {u.reason for u in plan.unassigned} == {UnassignedReason.NO_SKILLED_TECHNICIAN}


def test_pin_to_technician_overrides_the_cheaper_choice() -> None:
    techs = (tech("a", at(0)), tech("b", at(40)))
    job = visit("job", at(1))
    assert who(solve(PlanningProblem(techs, (job,)))) == {"job": "a"}
    pinned = PlanningProblem(techs, (job,), pins=(Pin("job", "b", day=0),))
    assert who(solve(pinned)) == {"job": "b"}
    missing_shift = PlanningProblem(techs, (job,), pins=(Pin("job", "b", day=3),))
    assert reasons(solve(missing_shift)) == {"job": UnassignedReason.PINNED_INFEASIBLE}


def test_pinned_order_and_start_time() -> None:
    a = tech("a", at(0))
    visits = (visit("v1", at(10)), visit("v2", at(20)), visit("v3", at(30)))
    pins = (Pin("v3", "a", 0, position=0), Pin("v1", "a", 0, position=1, start_time=13 * H))
    plan = solve(PlanningProblem((a,), visits, pins=pins))
    route = order(plan, "a")
    assert route.index("v3") < route.index("v1")
    assert {s.visit_id: s.start for s in plan.routes[0].stops}["v1"] == 13 * H


def test_frozen_visit_stays_at_the_head_of_the_route() -> None:
    a = tech("a", at(0), end_location=at(40))
    visits = (visit("v1", at(10)), visit("started", at(30)))
    assert order(solve(PlanningProblem((a,), visits)), "a") == ["v1", "started"]
    frozen = PlanningProblem((a,), visits, pins=(Pin("started", "a", 0, position=0, frozen=True),))
    assert order(solve(frozen), "a") == ["started", "v1"]


def test_change_budget_limits_how_many_visits_leave_a_route() -> None:
    techs = (tech("a", at(0)), tech("b", at(50)))
    visits = tuple(visit(f"v{k}", at(48 + k)) for k in range(3))
    previous = (RouteAssignment("a", 0, ("v0", "v1", "v2")),)
    free = solve(PlanningProblem(techs, visits, previous_routes=previous))
    assert set(who(free).values()) == {"b"}  # all three are next to b's home
    budget = PlanningProblem(techs, visits, previous_routes=previous, max_moves_per_route=1)
    moved = sum(1 for t in who(solve(budget)).values() if t != "a")
    assert moved == 1
    frozen = solve(dataclasses.replace(budget, max_moves_per_route=0))
    assert set(who(frozen).values()) == {"a"}


def test_warm_start_keeps_an_equally_good_previous_plan() -> None:
    techs = (tech("a", at(0)), tech("b", at(0)))
    visits = (visit("v1", at(10)), visit("v2", at(11)))
    greedy = dataclasses.replace(OPTIONS, metaheuristic=Metaheuristic.GREEDY_DESCENT)
    cold = who(solve(PlanningProblem(techs, visits), greedy))
    other = "b" if set(cold.values()) == {"a"} else "a"
    previous = (RouteAssignment(other, 0, ("v1", "v2")),)
    warm = who(solve(PlanningProblem(techs, visits, previous_routes=previous), greedy))
    assert warm == {"v1": other, "v2": other}


def test_workload_balance_spreads_the_work() -> None:
    techs = (tech("a", at(0)), tech("b", at(0)))
    visits = tuple(visit(f"v{k}", at(10 + k), service=2 * H) for k in range(4))
    assert len(solve(PlanningProblem(techs, visits)).routes) == 1
    balanced = solve(PlanningProblem(techs, visits), dataclasses.replace(OPTIONS, balance_cost=1.0))
    assert sorted(len(r.stops) for r in balanced.routes) == [2, 2]


def test_plan_round_trips_into_the_next_replan() -> None:
    plan = solve(PlanningProblem((tech("a", at(0)),), (visit("v1", at(10)),)))
    assert plan.route_assignments() == (RouteAssignment("a", 0, ("v1",)),)


def test_a_retime_beyond_the_promise_spends_the_change_budget() -> None:
    a = tech("a", at(0))
    # promised 09:00 (+-30 min); the newcomer only fits at 09:00 and takes two hours, so it pushes the promise
    promise = TimeWindow(8.5 * H, 9.5 * H)
    kept = visit("kept", at(10), priority=Priority.P1, windows=(TimeWindow(9 * H, 17 * H),), promised=promise)
    tight = visit("tight", at(10), service=2 * H, windows=(TimeWindow(9 * H, 9 * H + 10 * M),))
    previous = (RouteAssignment("a", 0, ("kept",)),)
    unbounded = solve(
        PlanningProblem((a,), (dataclasses.replace(kept, promised=None), tight), previous_routes=previous)
    )
    assert order(unbounded, "a") == ["tight", "kept"]  # counted as no change before: only moves were
    frozen = solve(PlanningProblem((a,), (kept, tight), previous_routes=previous, max_moves_per_route=0))
    assert order(frozen, "a") == ["kept"] and reasons(frozen) == {"tight": UnassignedReason.NO_TIME_LEFT}
    assert promise.start <= frozen.routes[0].stops[0].start <= promise.end
    one = solve(PlanningProblem((a,), (kept, tight), previous_routes=previous, max_moves_per_route=1))
    assert order(one, "a") == ["tight", "kept"]
