"""Room for urgent work a re-plan left out: a warm start that serves it at the cost of lower-value visits.

A plan that leaves a P1 emergency out as "no time left" while shifts are full of P4 maintenance is a search that
stopped too early, not a good plan: serving it means taking two or three visits off one technician's day at once,
and each step of that move alone makes the plan worse, so a local search started from the current routes (the
warm start) rarely finds it within a re-plan's second. ``room_for`` makes that move by hand: the technician
nearest each such visit gets it at the end of the work that must stay on their day (pinned, started, other
emergencies), with the visits that may be let go taken off their route; the planner then starts from there and
puts back what still fits. Whoever calls it keeps the result only if it leaves less value unassigned.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from .model import Plan, PlanningProblem, RouteAssignment, Technician, UnassignedReason, Visit
from .reactive import ArrayTravelTimeProvider
from .travel import coordinates

__all__ = ["LEFT_FOR_LESS", "room_for"]

# the reasons that say "it fits, but the plan kept other work instead"
LEFT_FOR_LESS = frozenset({UnassignedReason.NO_TIME_LEFT, UnassignedReason.CHANGE_BUDGET})


def _skilled(technician: Technician, visit: Visit) -> bool:
    return all(technician.skills.get(skill, -1) >= level for skill, level in visit.required_skills.items())


def room_for(
    problem: PlanningProblem,
    plan: Plan,
    waiting: Collection[str],
    droppable: Collection[str],
    travel: ArrayTravelTimeProvider,
) -> PlanningProblem | None:
    """``problem`` with a warm start that puts each of ``waiting`` (visit ids) on the nearest skilled technician
    not given one yet, after that technician's planned visits that are not ``droppable``; None when no technician
    can take any of them. The most urgent (priority, then deadline) choose first."""
    visits: Mapping[str, Visit] = {v.id: v for v in problem.visits}
    # each waiting visit ends up on one route only, wherever the plan had it
    routes = {r.technician_id: [s.visit_id for s in r.stops if s.visit_id not in waiting] for r in plan.routes}
    days: dict[str, int] = {r.technician_id: r.day for r in plan.routes}
    given: set[str] = set()

    def urgency(visit_id: str) -> tuple[int, float]:
        visit = visits[visit_id]
        return int(visit.priority), visit.sla_deadline if visit.sla_deadline is not None else float("inf")

    for visit_id in sorted((v for v in waiting if v in visits), key=urgency):
        visit = visits[visit_id]
        free = [t for t in problem.technicians if t.id not in given and t.shifts and _skilled(t, visit)]
        if not free:
            continue
        legs = travel.durations_between(coordinates([t.home for t in free]), coordinates([visit.location]))[:, 0]
        nearest = free[int(np.argmin(legs))]
        given.add(nearest.id)
        routes[nearest.id] = [v for v in routes.get(nearest.id, []) if v not in droppable] + [visit_id]
        days.setdefault(nearest.id, nearest.shifts[0].day)
    if not given:
        return None
    warm = tuple(RouteAssignment(tid, days[tid], tuple(stops)) for tid, stops in routes.items() if stops)
    return PlanningProblem(
        technicians=problem.technicians,
        visits=problem.visits,
        pins=problem.pins,
        previous_routes=warm,
        max_moves_per_route=problem.max_moves_per_route,
        territory_rule=problem.territory_rule,
    )
