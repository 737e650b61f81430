"""A ``Plan`` as plain JSON and back: a proposed plan is kept between the dispatcher's look and the acceptance."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .model import (
    Plan,
    PlanKpis,
    Priority,
    Route,
    ScheduledBreak,
    SolveStatus,
    Stop,
    UnassignedReason,
    UnassignedVisit,
)

__all__ = ["plan_from_json", "plan_to_json"]


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """Numbers, strings and lists only (enums by value)."""
    return {
        "status": plan.status.value,
        "routes": [asdict(r) for r in plan.routes],
        "unassigned": [
            {"visit_id": u.visit_id, "priority": u.priority.name, "reason": u.reason.value, "detail": u.detail}
            for u in plan.unassigned
        ],
        "kpis": asdict(plan.kpis),
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    routes = tuple(
        Route(
            **{
                **r,
                "stops": tuple(Stop(**s) for s in r["stops"]),
                "breaks": tuple(ScheduledBreak(**b) for b in r["breaks"]),
            }
        )
        for r in data["routes"]
    )
    unassigned = tuple(
        UnassignedVisit(u["visit_id"], Priority[u["priority"]], UnassignedReason(u["reason"]), u["detail"])
        for u in data["unassigned"]
    )
    return Plan(SolveStatus(data["status"]), routes, unassigned, PlanKpis(**data["kpis"]))
