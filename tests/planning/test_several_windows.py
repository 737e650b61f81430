"""Several windows per visit (issue 17): a visit starts inside one of them, never in the gap between them, on every
planner path: the fresh plan (our compiled search, then OR-Tools) and the re-plan (OR-Tools from previous routes)."""

from __future__ import annotations

import pytest

from services.dispatch.planning import (
    Pin,
    Plan,
    PlanningOptions,
    PlanningProblem,
    RouteAssignment,
    TimeWindow,
    UnassignedReason,
    plan_routes,
)

from .helpers import GridTravel, H, M, at, tech, visit

# the gap (08:05-15:00) is where the visit would go on its own: right after the morning job next door
MORNING = visit("morning", at(10), windows=(TimeWindow(9 * H, 9 * H + 30 * M),))
TWO = visit("two", at(11), windows=(TimeWindow(8 * H, 8 * H + 5 * M), TimeWindow(15 * H, 15 * H + 30 * M)))


def starts(plan: Plan) -> dict[str, tuple[float, float]]:
    return {s.visit_id: (s.arrival, s.start) for r in plan.routes for s in r.stops}


@pytest.mark.parametrize("time_limit", [0.2, 1.0])
def test_a_fresh_plan_starts_the_visit_in_its_second_window_not_in_the_gap(time_limit: float) -> None:
    plan = plan_routes(
        PlanningProblem((tech("anna", at(0)),), (MORNING, TWO)), GridTravel(), PlanningOptions(time_limit=time_limit)
    )
    times = starts(plan)
    assert 15 * H <= times["two"][1] <= 15 * H + 30 * M  # an 11 min drive misses 08:00-08:05
    assert 9 * H <= times["morning"][1] <= 9 * H + 30 * M


def test_a_replan_from_a_route_that_had_it_in_the_gap_moves_it_into_a_window() -> None:
    problem = PlanningProblem(
        (tech("anna", at(0)),),
        (MORNING, TWO),
        pins=(Pin("morning", "anna", 0, position=0),),
        previous_routes=(RouteAssignment("anna", 0, ("morning", "two")),),  # as the merged span had booked it
        max_moves_per_route=2,
    )
    plan = plan_routes(problem, GridTravel(), PlanningOptions(time_limit=0.5))
    assert 15 * H <= starts(plan)["two"][1] <= 15 * H + 30 * M


def test_windows_all_out_of_reach_give_the_reason_of_the_windows() -> None:
    early = visit("early", at(30), windows=(TimeWindow(8 * H, 8 * H + 10 * M), TimeWindow(16 * H + 50 * M, 17 * H)))
    late = visit("late", at(5), windows=(TimeWindow(6 * H, 7 * H), TimeWindow(18 * H, 19 * H)))
    plan = plan_routes(PlanningProblem((tech("anna", at(0)),), (early, late)), GridTravel(), PlanningOptions(0.3))
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    # a 30 min drive misses the first; the second ends too late to be home by 17:00
    assert reasons == {"early": UnassignedReason.WINDOW_UNREACHABLE, "late": UnassignedReason.OUTSIDE_EVERY_SHIFT}
