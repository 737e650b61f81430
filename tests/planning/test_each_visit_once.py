"""A visit is served once: a warm start that names it twice is not thrown away whole, and a solution that holds it
twice is cut to its first appearance (a re-plan would otherwise write two bookings for one request)."""

from __future__ import annotations

from dataclasses import replace

from services.dispatch.planning import PlanningOptions, PlanningProblem, TimeWindow
from services.dispatch.planning.instance import build_instance
from services.dispatch.planning.model import SolveStatus
from services.dispatch.planning.ortools_model import solve_instance
from services.dispatch.planning.raw import RawRoute, RawSolution, each_visit_once

from .helpers import GridTravel, H, at, day_shift, tech, visit


def _problem() -> PlanningProblem:
    return PlanningProblem(
        (
            tech("anna", at(0), day_shift(start=8 * H, end=17 * H)),
            tech("oleg", at(5), day_shift(start=8 * H, end=17 * H)),
        ),
        tuple(visit(f"v{k}", at(k + 1), windows=(TimeWindow(8 * H, 17 * H),)) for k in range(4)),
    )


def test_a_warm_start_naming_a_visit_twice_still_warms_the_search_and_every_visit_is_served() -> None:
    instance = build_instance(_problem(), GridTravel())
    doubled = replace(instance, initial_routes=((0, 1, 2), (2, 3)))  # visit 2 in both routes
    raw = solve_instance(doubled, PlanningOptions(time_limit=0.5), 0.5, require_warm_start=True)
    assert raw.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL), "the warm start was rejected whole"
    served = sorted(v for r in raw.routes for v in r.visits)
    assert served == [0, 1, 2, 3]


def test_a_solution_holding_a_visit_twice_keeps_its_first_appearance_only() -> None:
    doubled = RawSolution(
        SolveStatus.FEASIBLE,
        (RawRoute(0, (0, 2), (100, 200), 50, 250, ()), RawRoute(1, (2, 1), (120, 300), 60, 350, ())),
        7,
    )
    once = each_visit_once(doubled)
    assert [r.visits for r in once.routes] == [(0, 2), (1,)]
    assert [r.service_starts for r in once.routes] == [(100, 200), (300,)]
    assert once.objective == 7 and once.status is SolveStatus.FEASIBLE
