"""The dispatcher's API: live board, SLA at risk, manual assign and reassign, locks, re-plans, plan diffs."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request, status

from services.dispatch.api.routes import db_of, dispatchers, use_cases
from services.dispatch.api.schemas import AssignIn, AssignmentOut, LockIn, ReassignIn, ReplanIn
from services.dispatch.db.repository import DispatchRepository
from shared.auth import Principal
from shared.errors import NotFound
from shared.timestamps import in_utc

router = APIRouter(tags=["dispatcher"])


@router.get("/board")
async def board(request: Request, _: Principal = Depends(dispatchers)) -> dict[str, Any]:
    """Technicians (position, status, today's route) and open requests with their SLA clocks."""
    async with db_of(request).transaction() as session:
        return in_utc(await use_cases(request).desk.board(session))  # type: ignore[no-any-return]


@router.get("/sla-at-risk")
async def sla_at_risk(request: Request, _: Principal = Depends(dispatchers)) -> list[dict[str, Any]]:
    """Requests whose predicted arrival is past the response deadline, worst first."""
    async with db_of(request).transaction() as session:
        return in_utc(await use_cases(request).desk.at_risk(session))  # type: ignore[no-any-return]


@router.post("/assignments", status_code=status.HTTP_201_CREATED, response_model=AssignmentOut)
async def assign(body: AssignIn, request: Request, principal: Principal = Depends(dispatchers)) -> AssignmentOut:
    """Books the request on the technician; pinned (re-plans keep it) unless `lock` is false."""
    async with db_of(request).transaction() as session:
        assignment_id = await use_cases(request).desk.assign(
            session, body.request_id, body.technician_id, body.planned_start, body.lock, principal.subject
        )
        row = await DispatchRepository(session).get_assignment(assignment_id)
    return AssignmentOut.model_validate(row)


@router.post("/assignments/{assignment_id}/reassign", response_model=AssignmentOut)
async def reassign(
    assignment_id: uuid.UUID, body: ReassignIn, request: Request, principal: Principal = Depends(dispatchers)
) -> AssignmentOut:
    """Moves the booking; pinned (re-plans keep it) unless `lock` is false."""
    async with db_of(request).transaction() as session:
        await use_cases(request).desk.reassign(
            session, assignment_id, body.technician_id, body.planned_start, body.lock, principal.subject
        )
        row = await DispatchRepository(session).get_assignment(assignment_id)
    return AssignmentOut.model_validate(row)


@router.post("/assignments/{assignment_id}/lock", response_model=AssignmentOut)
async def lock(
    assignment_id: uuid.UUID, body: LockIn, request: Request, principal: Principal = Depends(dispatchers)
) -> AssignmentOut:
    """A locked (pinned) booking keeps its technician and time through re-plans; `locked: false` releases it."""
    async with db_of(request).transaction() as session:
        row = await use_cases(request).desk.lock(session, assignment_id, body.locked, principal.subject)
    return AssignmentOut.model_validate(row)


@router.delete("/assignments/{assignment_id}/lock", response_model=AssignmentOut)
async def unlock(
    assignment_id: uuid.UUID, request: Request, principal: Principal = Depends(dispatchers)
) -> AssignmentOut:
    """Releases the pin: the next re-plan may move the booking again."""
    async with db_of(request).transaction() as session:
        row = await use_cases(request).desk.lock(session, assignment_id, False, principal.subject)
    return AssignmentOut.model_validate(row)


@router.get("/alerts")
async def alerts(request: Request, _: Principal = Depends(dispatchers)) -> list[dict[str, Any]]:
    """The dispatchers' alerts, newest first: SLA at risk, late placements, implausible status steps."""
    async with db_of(request).transaction() as session:
        return in_utc(await DispatchRepository(session).alerts())  # type: ignore[no-any-return]


@router.post("/plans/{day}/replan")
async def replan(
    day: date, request: Request, body: ReplanIn | None = None, _: Principal = Depends(dispatchers)
) -> dict[str, Any]:
    """Plans the day now (off the event loop) and answers with the new version and what changed; no body needed."""
    cases = use_cases(request)
    reason = (body or ReplanIn()).reason
    return await cases.replanner.replan(db_of(request), day, [reason])  # type: ignore[no-any-return]


@router.get("/plan-failures")
async def plan_failures(request: Request, _: Principal = Depends(dispatchers)) -> list[dict[str, Any]]:
    """Days the planner could not plan (an alert until the day plans again): when, why, how many runs in a row."""
    async with db_of(request).transaction() as session:
        return in_utc(await DispatchRepository(session).plan_failures())  # type: ignore[no-any-return]


@router.get("/plans/{day}")
async def latest_plan(day: date, request: Request, _: Principal = Depends(dispatchers)) -> dict[str, Any]:
    async with db_of(request).transaction() as session:
        plan = await DispatchRepository(session).latest_plan(day)
    if plan is None:
        raise NotFound(f"no plan for {day.isoformat()} yet")
    return in_utc(plan)  # type: ignore[no-any-return]


@router.get("/plans/{day}/diff")
async def latest_diff(day: date, request: Request, _: Principal = Depends(dispatchers)) -> dict[str, Any]:
    """What the last re-plan of the day moved, and why, in words."""
    async with db_of(request).transaction() as session:
        plan = await DispatchRepository(session).latest_plan(day)
    if plan is None:
        raise NotFound(f"no plan for {day.isoformat()} yet")
    return in_utc({k: plan[k] for k in ("id", "day", "version", "reason", "created_at", "changes", "unassigned")})  # type: ignore[no-any-return]
