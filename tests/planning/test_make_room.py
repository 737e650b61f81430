"""room_for: the warm start a re-plan tries again from when it left an emergency out for lower-value work (pure)."""

from __future__ import annotations

from dataclasses import replace

from services.dispatch.planning import (
    Pin,
    Plan,
    PlanningOptions,
    PlanningProblem,
    Priority,
    RouteAssignment,
    plan_routes,
)
from services.dispatch.planning.make_room import room_for

from .helpers import GridTravel, H, at, tech, visit

TRAVEL = GridTravel()


def _problem(**skills: dict[str, int]) -> PlanningProblem:
    near = tech("near", at(0), skills=skills.get("near", {"refrigeration": 3}))
    far = tech("far", at(50), skills=skills.get("far", {"refrigeration": 3}))
    work = [visit(f"p{k}", at(k), service=2 * H, priority=Priority.P4) for k in (1, 2, 3)]
    booked = visit("booked", at(4), priority=Priority.P1)  # an emergency already booked: pinned, stays
    urgent = visit("urgent", at(2), priority=Priority.P1, required_skills={"refrigeration": 2}, sla_deadline=11 * H)
    return PlanningProblem(
        technicians=(near, far),
        visits=(*work, booked, urgent),
        pins=(Pin(visit_id="booked", technician_id="near", day=0, position=0),),
        previous_routes=(RouteAssignment("near", 0, ("booked", "p1", "p2", "p3")),),
    )


def _planned(problem: PlanningProblem) -> Plan:
    return plan_routes(problem, TRAVEL, PlanningOptions(time_limit=1.0))


def _left_out(problem: PlanningProblem) -> Plan:
    """A plan of the day as a re-plan left it: the urgent visit on no route."""
    return _planned(replace(problem, visits=tuple(v for v in problem.visits if v.id != "urgent")))


def test_the_nearest_skilled_technician_gets_it_after_what_must_stay_and_lets_the_rest_go() -> None:
    problem = _problem()
    plan = _left_out(problem)
    roomy = room_for(problem, plan, {"urgent"}, {"p1", "p2", "p3"}, TRAVEL)
    assert roomy is not None
    warm = {r.technician_id: r.visit_ids for r in roomy.previous_routes}
    assert warm["near"][-1] == "urgent"
    assert [v for v in warm["near"] if v != "urgent"] == [
        s.visit_id for r in plan.routes if r.technician_id == "near" for s in r.stops if s.visit_id == "booked"
    ]
    assert (roomy.technicians, roomy.visits, roomy.pins) == (problem.technicians, problem.visits, problem.pins)
    # started from there, the planner serves it and puts back what still fits
    again = _planned(roomy)
    assert "urgent" in {s.visit_id for r in again.routes for s in r.stops}


def test_without_the_skill_the_nearer_technician_is_passed_over() -> None:
    problem = _problem(near={"refrigeration": 1})
    roomy = room_for(problem, _left_out(problem), {"urgent"}, {"p1", "p2", "p3"}, TRAVEL)
    assert roomy is not None
    warm = {r.technician_id: r.visit_ids for r in roomy.previous_routes}
    assert warm["far"] == ("urgent",) and "urgent" not in warm.get("near", ())


def test_nobody_skilled_gives_nothing_to_try() -> None:
    problem = _problem(near={}, far={})
    assert room_for(problem, _left_out(problem), {"urgent"}, {"p1", "p2", "p3"}, TRAVEL) is None
