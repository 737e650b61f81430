"""The dispatcher's API: live board, SLA at risk, manual assign and reassign, locks, re-plans, plan diffs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, status

from services.dispatch.api.deps import Dispatcher, Transactions, UnitOfWork, UseCases
from services.dispatch.api.desk_schemas import (
    AlertOut,
    AtRiskJob,
    Board,
    HorizonPlanOut,
    PlanDiffOut,
    PlanFailureOut,
    PlanOut,
    ReplanOut,
)
from services.dispatch.api.schemas import AssignIn, AssignmentOut, LockIn, ReassignIn, ReplanIn
from services.dispatch.domain.records import AlertRecord, PlanFailureRecord, PlanRecord

router = APIRouter(tags=["dispatcher"])


@router.get("/board", response_model=Board)
async def board(session: UnitOfWork, cases: UseCases, _: Dispatcher) -> dict[str, Any]:
    """Technicians (position, status, shift, today's route) and open requests with their SLA clocks."""
    return await cases.desk.board(session)


@router.get("/sla-at-risk", response_model=list[AtRiskJob])
async def sla_at_risk(session: UnitOfWork, cases: UseCases, _: Dispatcher) -> list[dict[str, Any]]:
    """Requests whose predicted arrival is past the response deadline, worst first."""
    return await cases.desk.at_risk(session)


@router.post("/assignments", status_code=status.HTTP_201_CREATED, response_model=AssignmentOut)
async def assign(body: AssignIn, session: UnitOfWork, cases: UseCases, principal: Dispatcher) -> AssignmentOut:
    """Books the request on the technician; pinned (re-plans keep it) unless `lock` is false."""
    assignment_id = await cases.desk.assign(
        session, body.request_id, body.technician_id, body.planned_start, body.lock, principal.subject
    )
    return AssignmentOut.model_validate(await cases.views.assignment(session, assignment_id))


@router.post("/assignments/{assignment_id}/reassign", response_model=AssignmentOut)
async def reassign(
    assignment_id: uuid.UUID, body: ReassignIn, session: UnitOfWork, cases: UseCases, principal: Dispatcher
) -> AssignmentOut:
    """Moves the booking; pinned (re-plans keep it) unless `lock` is false."""
    await cases.desk.reassign(
        session, assignment_id, body.technician_id, body.planned_start, body.lock, principal.subject
    )
    return AssignmentOut.model_validate(await cases.views.assignment(session, assignment_id))


@router.post("/assignments/{assignment_id}/lock", response_model=AssignmentOut)
async def lock(
    assignment_id: uuid.UUID, body: LockIn, session: UnitOfWork, cases: UseCases, principal: Dispatcher
) -> AssignmentOut:
    """A locked (pinned) booking keeps its technician and time through re-plans; `locked: false` releases it."""
    row = await cases.desk.lock(session, assignment_id, body.locked, principal.subject)
    return AssignmentOut.model_validate(row)


@router.delete("/assignments/{assignment_id}/lock", response_model=AssignmentOut)
async def unlock(
    assignment_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Dispatcher
) -> AssignmentOut:
    """Releases the pin: the next re-plan may move the booking again."""
    row = await cases.desk.lock(session, assignment_id, False, principal.subject)
    return AssignmentOut.model_validate(row)


@router.get("/alerts", response_model=list[AlertOut])
async def alerts(session: UnitOfWork, cases: UseCases, _: Dispatcher) -> list[AlertRecord]:
    """The dispatchers' alerts, newest first: SLA at risk, late placements, implausible status steps."""
    return await cases.views.alerts(session)


@router.post("/plans/{day}/replan", response_model=ReplanOut)
async def replan(
    day: date, db: Transactions, cases: UseCases, principal: Dispatcher, body: ReplanIn | None = None
) -> dict[str, Any]:
    """Plans the day now (off the event loop) and answers with the new version and what changed; no body needed.
    Told arrivals stay within the tolerance unless `release_promises` (the dispatcher is recorded in the reason).

    The re-plan opens its own transactions: it must not hold a connection while the solver runs."""
    body = body or ReplanIn()
    return await cases.replanner.replan(
        db,
        day,
        [body.reason],
        wait_s=cases.replanner.dispatcher_wait_s,
        promises_released_by=principal.subject if body.release_promises else None,
    )


@router.post("/horizon/replan", response_model=HorizonPlanOut)
async def replan_horizon(
    db: Transactions, cases: UseCases, _: Dispatcher, body: ReplanIn | None = None
) -> dict[str, Any]:
    """Plans today and the next `plan_horizon_days` days jointly, as the scheduled planning does: work that may go
    on several days goes on its best one; work already booked stays on its day. One new plan version per day."""
    reason = (body or ReplanIn(reason="horizon re-plan requested by a dispatcher")).reason
    return {"days": await cases.horizon.plan(db, reason)}


@router.get("/plan-failures", response_model=list[PlanFailureOut])
async def plan_failures(session: UnitOfWork, cases: UseCases, _: Dispatcher) -> list[PlanFailureRecord]:
    """Days the planner could not plan (an alert until the day plans again): when, why, how many runs in a row."""
    return await cases.views.plan_failures(session)


@router.get("/plans/{day}", response_model=PlanOut)
async def latest_plan(day: date, session: UnitOfWork, cases: UseCases, _: Dispatcher) -> PlanRecord:
    """The day's latest plan version: each technician's route, what it left unassigned, its changes, its figures."""
    return await cases.views.latest_plan(session, day)


@router.get("/plans/{day}/diff", response_model=PlanDiffOut)
async def latest_diff(day: date, session: UnitOfWork, cases: UseCases, _: Dispatcher) -> PlanRecord:
    """What the last re-plan of the day moved, and why, in words."""
    return await cases.views.latest_plan(session, day)
