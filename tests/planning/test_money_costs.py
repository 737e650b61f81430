"""Each visit's own lateness and drop costs, each technician-day's own overtime rate: they change the plan, in our
search and in the routing model alike, and with none given the options' defaults apply as before."""

from __future__ import annotations

import dataclasses

import pytest

from services.dispatch.planning import (
    Plan,
    PlanningOptions,
    PlanningProblem,
    Priority,
    RouteAssignment,
    TimeWindow,
    plan_routes,
)
from services.dispatch.planning.instance import Ticks
from services.dispatch.planning.route_evaluator import drop_penalty_ticks, overtime_weight, sla_weight

from .helpers import GridTravel, H, M, at, day_shift, tech, visit

OPTIONS = PlanningOptions(time_limit=0.5)
# fresh plans: our search then OR-Tools; re-plans (a previous route given): the routing model alone
SEARCHES = ("fresh", "re-plan")


def solve(problem: PlanningProblem, search: str) -> Plan:
    if search == "re-plan":  # every visit on the first technician's day, in the problem's order: a warm start
        first = problem.technicians[0]
        previous = RouteAssignment(first.id, first.shifts[0].day, tuple(v.id for v in problem.visits))
        problem = dataclasses.replace(problem, previous_routes=(previous,))
    return plan_routes(problem, GridTravel(), OPTIONS)


def first_stop(plan: Plan) -> str:
    return plan.routes[0].stops[0].visit_id


def two_due_at_once(east_cost: float | None, west_cost: float | None) -> PlanningProblem:
    """Two visits due at 08:30, half an hour away in opposite directions: whichever goes second is two hours late."""
    due = 8 * H + 30 * M
    east = visit("east", at(30), service=60 * M, sla_deadline=due, sla_cost=east_cost)
    west = visit("west", at(-30), service=60 * M, sla_deadline=due, sla_cost=west_cost)
    return PlanningProblem((tech("a", at(0)),), (east, west))


@pytest.mark.parametrize("search", SEARCHES)
def test_the_visit_whose_lateness_costs_more_is_served_first(search: str) -> None:
    assert first_stop(solve(two_due_at_once(10.0, 1.0), search)) == "east"
    assert first_stop(solve(two_due_at_once(1.0, 10.0), search)) == "west"
    plan = solve(two_due_at_once(1.0, 10.0), search)
    # travel 2 h, east 2 h late at 1 travel-second per second
    assert plan.kpis.objective == pytest.approx(2 * H + 2 * H)
    assert plan.kpis.sla_misses == 1


@pytest.mark.parametrize("search", SEARCHES)
def test_of_two_visits_that_cannot_both_fit_the_more_valuable_is_kept(search: str) -> None:
    short = tech("a", at(0), day_shift(end=10 * H))  # two hours: one 90-minute visit fits
    one = visit("one", at(1), service=90 * M, priority=Priority.P4)
    other = visit("other", at(-1), service=90 * M, priority=Priority.P4)
    plan = solve(PlanningProblem((short,), (dataclasses.replace(one, drop_penalty=10 * H), other)), search)
    assert first_stop(plan) == "one" and [u.visit_id for u in plan.unassigned] == ["other"]
    assert plan.kpis.unassigned_priority_weight == OPTIONS.drop_penalties[Priority.P4]
    plan = solve(PlanningProblem((short,), (one, dataclasses.replace(other, drop_penalty=10 * H))), search)
    assert first_stop(plan) == "other" and [u.visit_id for u in plan.unassigned] == ["one"]


@pytest.mark.parametrize("search", SEARCHES)
def test_a_technician_whose_overtime_is_dear_leaves_the_late_visit_to_a_longer_drive(search: str) -> None:
    job = visit("job", at(10), service=60 * M, windows=(TimeWindow(16 * H, 16 * H + 30 * M),))
    far = tech("far", at(50), day_shift(start=10 * H, end=19 * H))

    def near(rate: float | None) -> object:
        return tech("near", at(0), day_shift(overtime_limit=H, overtime_cost=rate))

    # "near" ends at 17:10 (10 minutes' overtime); "far" drives 40 minutes each way within its shift
    plan = solve(PlanningProblem((near(1.0), far), (job,)), search)  # type: ignore[arg-type]
    assert plan.routes[0].technician_id == "near"
    plan = solve(PlanningProblem((near(20.0), far), (job,)), search)  # type: ignore[arg-type]
    assert plan.routes[0].technician_id == "far"


def test_without_money_terms_the_weights_are_the_options_defaults() -> None:
    options, ticks = PlanningOptions(), Ticks(1.0)
    plain = visit("v", at(0), priority=Priority.P2)
    assert sla_weight(plain, options) == round(options.sla_cost)
    assert drop_penalty_ticks(options, plain, ticks) == options.drop_penalties[Priority.P2]
    assert overtime_weight(day_shift(), options) == round(options.overtime_cost)
    priced = dataclasses.replace(plain, sla_cost=7.4, drop_penalty=123.0)
    assert sla_weight(priced, options) == 7 and drop_penalty_ticks(options, priced, Ticks(10.0)) == 12
    assert overtime_weight(day_shift(overtime_cost=0.2), options) == 1  # at least a tick per tick
