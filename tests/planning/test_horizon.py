"""Several days' problems joined into one (planning/horizon.py) and its plan cut back per day, without I/O: a
visit that two days hold goes on the day with room, in that day's own seconds; pins, previous routes and a
clock change's 25-hour day keep their day."""

from __future__ import annotations

from services.dispatch.planning import (
    Pin,
    PlanningOptions,
    PlanningProblem,
    RouteAssignment,
    TimeWindow,
    plan_routes,
)
from services.dispatch.planning.horizon import day_technician_id, join_days, split_plan

from .helpers import GridTravel, H, M, at, day_shift, tech, visit

DAY = 24 * H
OPTIONS = PlanningOptions(time_limit=0.5)


def anywhere_today(vid: str, x: float, service: float = 60 * M) -> object:
    return visit(vid, at(x), service, windows=(TimeWindow(0.0, DAY),))


def test_a_visit_both_days_hold_goes_on_the_day_with_room_and_comes_back_in_that_days_seconds() -> None:
    # Monday is full (8 h of work in an 8 h shift); the tolerant visit fits only on Tuesday
    monday_work = tuple(anywhere_today(f"m{k}", 0.0) for k in range(8))
    tolerant = anywhere_today("tolerant", 5.0)
    anna_mon = tech("anna", at(0), day_shift(start=8 * H, end=16 * H))
    anna_tue = tech("anna", at(0), day_shift(start=8 * H, end=16 * H))
    monday = PlanningProblem((anna_mon,), (*monday_work, tolerant))
    tuesday = PlanningProblem((anna_tue,), (tolerant,))

    joint = join_days([monday, tuesday], [0.0, DAY])
    joined = {v.id: v for v in joint.visits}
    assert (joined["tolerant"].earliest_day, joined["tolerant"].latest_day) == (0, 1)
    assert joined["tolerant"].windows == (TimeWindow(0.0, 2 * DAY),)  # Monday's and Tuesday's windows touch
    assert (joined["m0"].earliest_day, joined["m0"].latest_day) == (0, 0)
    assert [(t.id, t.shifts[0].day, t.shifts[0].start) for t in joint.technicians] == [
        (day_technician_id("anna", 0), 0, 8 * H),
        (day_technician_id("anna", 1), 1, DAY + 8 * H),
    ]

    plan = plan_routes(joint, GridTravel(), OPTIONS)
    assert not plan.unassigned
    days = split_plan(plan, [monday, tuesday], [0.0, DAY], OPTIONS)
    monday_stops = {s.visit_id for r in days[0].routes for s in r.stops}
    tuesday_route = days[1].routes[0]
    assert monday_stops == {v.id for v in monday_work}
    assert [s.visit_id for s in tuesday_route.stops] == ["tolerant"]
    assert tuesday_route.technician_id == "anna" and tuesday_route.day == 0
    assert 8 * H <= tuesday_route.stops[0].start < 16 * H  # Tuesday's own seconds, not the horizon's
    assert (days[0].kpis.assigned, days[1].kpis.assigned) == (8, 1)
    assert days[1].kpis.travel_time == tuesday_route.travel_time

    # the days planned one by one: Monday's plan takes the tolerant visit first or leaves Monday work out
    alone = plan_routes(monday, GridTravel(), OPTIONS)
    assert alone.unassigned


def test_separate_windows_on_two_days_stay_apart_and_an_unserved_visit_is_left_out_on_each_day() -> None:
    # Monday 07:00-07:30 (before the shift) or Tuesday 16:00-16:30 (after it): served on neither
    early = visit("early", at(1), windows=(TimeWindow(7 * H, 7 * H + 30 * M),))
    late = visit("early", at(1), windows=(TimeWindow(16 * H, 16 * H + 30 * M),))
    monday = PlanningProblem((tech("anna", at(0), day_shift(end=15 * H)),), (early,))
    tuesday = PlanningProblem((tech("anna", at(0), day_shift(end=15 * H)),), (late,))
    joint = join_days([monday, tuesday], [0.0, DAY])
    assert joint.visits[0].windows == (
        TimeWindow(7 * H, 7 * H + 30 * M),
        TimeWindow(DAY + 16 * H, DAY + 16 * H + 30 * M),
    )
    days = split_plan(plan_routes(joint, GridTravel(), OPTIONS), [monday, tuesday], [0.0, DAY], OPTIONS)
    assert [[u.visit_id for u in d.unassigned] for d in days] == [["early"], ["early"]]
    assert all(not d.routes for d in days)


def test_pins_and_previous_routes_keep_their_technician_day_across_a_25_hour_day() -> None:
    # the clocks go back overnight: Tuesday's midnight is 25 h after Monday's
    offsets = [0.0, DAY + H]
    booked = visit("booked", at(3), windows=(TimeWindow(10 * H, 10 * H),))
    monday = PlanningProblem((tech("anna", at(0)),), (anywhere_today("free", 2.0),))
    tuesday = PlanningProblem(
        (tech("anna", at(0)), tech("boris", at(9))),
        (booked,),
        pins=(Pin("booked", "anna", 0, position=0, start_time=10 * H),),
        previous_routes=(RouteAssignment("anna", 0, ("booked",)),),
        max_moves_per_route=3,
    )
    joint = join_days([monday, tuesday], offsets)
    assert joint.pins == (Pin("booked", day_technician_id("anna", 1), 1, position=0, start_time=DAY + H + 10 * H),)
    assert joint.previous_routes == (RouteAssignment(day_technician_id("anna", 1), 1, ("booked",)),)
    assert joint.max_moves_per_route == 3
    days = split_plan(plan_routes(joint, GridTravel(), OPTIONS), [monday, tuesday], offsets, OPTIONS)
    tuesday_stops = {s.visit_id: (r.technician_id, s.start) for r in days[1].routes for s in r.stops}
    assert tuesday_stops == {"booked": ("anna", 10 * H)}
