"""Territories (issue 17) in the planner: a visit served from outside its site's territory costs the rule's crossing
cost (the plan pays more driving to keep work in territory, up to that cost), or is never served that way when
crossing is forbidden; floaters (no territories) and sites in no territory never cross; a pin wins over the rule."""

from __future__ import annotations

import pytest

from services.dispatch.planning import (
    LiveDay,
    LiveRoute,
    Pin,
    Plan,
    PlanningOptions,
    PlanningProblem,
    RouteAssignment,
    UnassignedReason,
    UrgentJob,
    earliest_feasible_insertion,
    plan_routes,
)
from services.dispatch.planning.instance import build_instance
from services.dispatch.planning.model import TerritoryRule
from services.dispatch.planning.route_evaluator import RouteEvaluator, Solution, objective
from services.dispatch.planning.search import CompiledState, regret_insertion

from .helpers import GridTravel, H, M, at, tech, visit

# north lives 2 min from the site, south 18 min: serving it from south costs 32 min more driving (there and back)
NORTH = tech("north", at(0), territories=frozenset({"N"}))
SOUTH = tech("south", at(20), territories=frozenset({"S"}))
SITE_IN_SOUTH = visit("fridge", at(2), territory="S")


def served_by(plan: Plan) -> dict[str, str]:
    return {s.visit_id: r.technician_id for r in plan.routes for s in r.stops}


def problem(rule: TerritoryRule, *technicians: object, **kwargs: object) -> PlanningProblem:
    return PlanningProblem(
        technicians or (NORTH, SOUTH),  # type: ignore[arg-type]
        (SITE_IN_SOUTH,),
        territory_rule=rule,
        **kwargs,  # type: ignore[arg-type]
    )


def test_without_a_crossing_cost_the_nearest_technician_serves_whatever_the_territory() -> None:
    plan = plan_routes(problem(TerritoryRule()), GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {"fridge": "north"}
    assert plan.kpis.territory_crossings == 0  # not priced, not counted


def test_a_crossing_cost_above_the_extra_driving_keeps_the_visit_in_its_territory() -> None:
    plan = plan_routes(problem(TerritoryRule(crossing_cost=H)), GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {"fridge": "south"}
    assert plan.kpis.territory_crossings == 0
    assert plan.kpis.objective == pytest.approx(36 * M)  # 18 min there and 18 back, no crossing paid


def test_a_crossing_cost_below_the_extra_driving_crosses_and_pays_for_it() -> None:
    plan = plan_routes(problem(TerritoryRule(crossing_cost=10 * M)), GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {"fridge": "north"}
    assert plan.kpis.territory_crossings == 1
    assert plan.kpis.objective == pytest.approx(4 * M + 10 * M)


def test_a_replan_moves_an_out_of_territory_visit_home_when_crossing_costs_more_than_the_drive() -> None:
    replan = problem(
        TerritoryRule(crossing_cost=H),
        previous_routes=(RouteAssignment("north", 0, ("fridge",)),),
        max_moves_per_route=1,
    )
    plan = plan_routes(replan, GridTravel(), PlanningOptions(time_limit=0.5))
    assert served_by(plan) == {"fridge": "south"}


def test_forbidden_crossing_leaves_the_visit_out_with_the_territory_as_reason() -> None:
    plan = plan_routes(problem(TerritoryRule(forbidden=True), NORTH), GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {}
    [left] = plan.unassigned
    assert left.reason is UnassignedReason.OUTSIDE_TERRITORY
    assert "crossing is forbidden" in left.detail


def test_forbidden_crossing_gives_the_visit_to_the_far_technician_of_its_territory() -> None:
    plan = plan_routes(problem(TerritoryRule(forbidden=True)), GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {"fridge": "south"}


def test_a_floater_and_a_site_in_no_territory_never_cross() -> None:
    floater = tech("floater", at(1))  # belongs to no territory
    plan = plan_routes(problem(TerritoryRule(forbidden=True), floater), GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {"fridge": "floater"}
    nowhere = visit("kiosk", at(2))
    plan = plan_routes(
        PlanningProblem((NORTH,), (nowhere,), territory_rule=TerritoryRule(forbidden=True)),
        GridTravel(),
        PlanningOptions(time_limit=0.3),
    )
    assert served_by(plan) == {"kiosk": "north"}


def test_a_pin_wins_over_a_forbidden_crossing() -> None:
    pinned = problem(TerritoryRule(forbidden=True), NORTH, pins=(Pin("fridge", "north", 0),))
    plan = plan_routes(pinned, GridTravel(), PlanningOptions(time_limit=0.3))
    assert served_by(plan) == {"fridge": "north"}


def test_a_sub_problem_keeps_the_crossings_of_its_own_vehicles() -> None:
    east = tech("east", at(0, 20), territories=frozenset({"N"}))
    instance = build_instance(
        PlanningProblem(
            (NORTH, SOUTH, east),
            (SITE_IN_SOUTH, visit("shop", at(1), territory="N")),
            territory_rule=TerritoryRule(crossing_cost=H),
        ),
        GridTravel(),
    )
    assert instance.crossing == (frozenset({0, 2}), frozenset({1}))
    sub = instance.subset([2, 1], [0, 1], [[], []])  # east, south
    assert sub.crossing == (frozenset({0}), frozenset({1}))
    assert sub.crossing_cost == H


# the reactive insertion ranks an emergency's candidates with the same crossing cost


def live_route(tid: str, x: float) -> LiveRoute:
    return LiveRoute(tid, {"refrigeration": 2}, at(x), 8 * H, (), at(x), 8 * H, 18 * H)


def urgent(sla: float, crossing: dict[str, float]) -> UrgentJob:
    return UrgentJob("urgent", at(2), 30 * M, sla, {"refrigeration": 1}, crossing_cost=crossing)


def test_an_emergency_goes_to_its_territory_when_the_crossing_costs_more_than_the_later_arrival() -> None:
    day = LiveDay.build([live_route("north", 0), live_route("south", 20)])
    priced = earliest_feasible_insertion(day, urgent(12 * H, {"north": 30 * M}), GridTravel(), now=8 * H)
    assert priced.best is not None and priced.best.technician_id == "south"
    assert priced.best.arrival == 8 * H + 18 * M  # the real arrival, not the ranked one
    cheap = earliest_feasible_insertion(day, urgent(12 * H, {"north": 10 * M}), GridTravel(), now=8 * H)
    assert cheap.best is not None and cheap.best.technician_id == "north"


def test_the_crossing_cost_never_trades_a_kept_sla_for_a_missed_one() -> None:
    day = LiveDay.build([live_route("north", 0), live_route("south", 20)])
    # only north arrives by 08:10: it goes, crossing or not
    decision = earliest_feasible_insertion(day, urgent(8 * H + 10 * M, {"north": H}), GridTravel(), now=8 * H)
    assert decision.best is not None and decision.best.technician_id == "north"


def test_the_compiled_search_prices_crossings_as_the_evaluator_and_the_model_do() -> None:
    problem = PlanningProblem(
        (NORTH, SOUTH),
        (SITE_IN_SOUTH, visit("shop", at(1), territory="N"), visit("kiosk", at(19), territory="S")),
        territory_rule=TerritoryRule(crossing_cost=H),
    )
    instance = build_instance(problem, GridTravel())
    evaluator = RouteEvaluator(instance, PlanningOptions())
    crossed = Solution([[1, 0], [2]], [])  # north takes the site in SOUTH along
    crossed.costs = [evaluator.route_cost(v, r) for v, r in enumerate(crossed.routes)]
    state = CompiledState(evaluator, crossed)
    assert state.value() == pytest.approx(objective(evaluator, crossed))
    assert crossed.costs[0] == pytest.approx(4 * M + H)  # 1 min out, 1 on, 2 back; one crossing
    # regret insertion from nothing leaves the site to south: 32 min more driving is cheaper than the crossing
    built = regret_insertion(evaluator)
    assert built.routes == [[1], [2, 0]] or built.routes == [[1], [0, 2]]
