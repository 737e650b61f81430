"""The technician's mobile API: my day, accept/decline, steps, position pings, completion report.

Commands carry a client_command_id: a replayed offline queue gets the stored answers and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.api.routes import db_of, use_cases
from services.dispatch.api.schemas import (
    AssignmentOut,
    BreakIn,
    CompletionReportIn,
    DeclineIn,
    MobileCommand,
    MobileStatusIn,
    PingsIn,
)
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.calendar import local_midnight
from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound
from shared.http import PROBLEM_JSON
from shared.timestamps import in_utc

router = APIRouter(prefix="/me", tags=["technician"])
technicians = require_roles(Role.TECHNICIAN)


def _me(principal: Principal) -> uuid.UUID:
    if principal.technician_id is None:
        raise NotFound("technician not found")
    return principal.technician_id


def _answer(status_code: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, media_type=PROBLEM_JSON if status_code >= 400 else None)


@router.get("/day")
async def my_day(
    request: Request, day: date | None = None, principal: Principal = Depends(technicians)
) -> dict[str, Any]:
    """The route of the day: each stop with its site, units, contact and what dispatch saw done there before."""
    me = _me(principal)
    settings = request.app.state.settings
    tz = ZoneInfo(settings.timezone)
    async with db_of(request).transaction() as session:
        repo = DispatchRepository(session)
        day = day or use_cases(request).clock().astimezone(tz).date()
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        rows = [a for a in await repo.assignments_of(me, start, end) if a["status"] != "declined"]
        jobs = await repo.jobs([a["request_id"] for a in rows])
        history = await repo.site_history(sorted({j["site_id"] for j in jobs.values()}), start)
        plan = await repo.latest_plan(day)
        technician = await repo.get_technician(me)
    if technician is None:
        raise NotFound("technician not found")
    stops = []
    for a in rows:
        job = jobs[a["request_id"]]
        stops.append(
            {
                "assignment": AssignmentOut.model_validate(a).model_dump(mode="json"),
                "request_id": str(job["request_id"]),
                "kind": job["kind"],
                "priority": job["priority"],
                "site": {
                    "site_id": str(job["site_id"]),
                    "address": job["address"],
                    "location": {"lat": job["lat"], "lon": job["lon"]},
                },
                "equipment_ids": job["equipment_ids"],
                "description": job["description"],
                "contact": {
                    "customer_id": str(job["customer_id"]),
                    "name": job["contact_name"],
                    "phone": job["contact_phone"],
                },
                "window": {"start": job["window_start"], "end": job["window_end"]},
                "response_due": job["response_due"],
                "bundled_with": job["bundled_with"],
                "history": [
                    {
                        "request_id": str(h["request_id"]),
                        "kind": h["kind"],
                        "status": h["status"],
                        "outcome": h["outcome"],
                        "finished_at": h["finished_at"],
                        "report": h["report"],
                    }
                    for h in history.get(job["site_id"], [])
                ],
            }
        )
    return in_utc(  # type: ignore[no-any-return]
        {
            "day": day,
            "technician_id": me,
            "status": technician["status"],
            "plan_version": plan["version"] if plan else None,
            "stops": stops,
        }
    )


async def _once(
    request: Request,
    principal: Principal,
    client_command_id: uuid.UUID,
    kind: str,
    work: Callable[[AsyncSession, uuid.UUID], Awaitable[Any]],
) -> JSONResponse:
    """Runs a mobile command once per client command id, in one transaction; a replay gets the stored answer."""
    me = _me(principal)
    async with db_of(request).transaction() as session:
        status_code, body = await use_cases(request).fieldwork.once(
            session, me, client_command_id, kind, lambda: work(session, me)
        )
    return _answer(status_code, body)


async def _step(
    request: Request,
    principal: Principal,
    assignment_id: uuid.UUID,
    command: MobileCommand,
    kind: str,
    status: str,
    **extra: Any,
) -> JSONResponse:
    async def run(session: AsyncSession, me: uuid.UUID) -> dict[str, Any]:
        row = await use_cases(request).fieldwork.change_status(
            session, principal, assignment_id, status, command.at, command.position, **extra
        )
        return AssignmentOut.model_validate(row).model_dump(mode="json")

    return await _once(request, principal, command.client_command_id, kind, run)


@router.post("/assignments/{assignment_id}/accept", response_model=AssignmentOut)
async def accept(
    assignment_id: uuid.UUID, body: MobileCommand, request: Request, principal: Principal = Depends(technicians)
) -> JSONResponse:
    return await _step(request, principal, assignment_id, body, "accept", "accepted")


@router.post("/assignments/{assignment_id}/decline", response_model=AssignmentOut)
async def decline(
    assignment_id: uuid.UUID, body: DeclineIn, request: Request, principal: Principal = Depends(technicians)
) -> JSONResponse:
    return await _step(request, principal, assignment_id, body, "decline", "declined", reason=body.reason or None)


@router.post("/assignments/{assignment_id}/status", response_model=AssignmentOut)
async def step(
    assignment_id: uuid.UUID, body: MobileStatusIn, request: Request, principal: Principal = Depends(technicians)
) -> JSONResponse:
    return await _step(request, principal, assignment_id, body, f"status:{body.status}", body.status)


@router.post("/assignments/{assignment_id}/report", response_model=AssignmentOut)
async def report(
    assignment_id: uuid.UUID, body: CompletionReportIn, request: Request, principal: Principal = Depends(technicians)
) -> JSONResponse:
    """Completes the job (or fails it: needs_parts, no_access, customer_absent) with the technician's report."""
    completed = body.outcome == "completed"
    return await _step(
        request,
        principal,
        assignment_id,
        body,
        "report",
        "completed" if completed else "failed",
        outcome=None if completed else body.outcome,
        report=body.model_dump(mode="json", exclude={"client_command_id", "position"}),
    )


@router.post("/break")
async def take_break(body: BreakIn, request: Request, principal: Principal = Depends(technicians)) -> JSONResponse:
    """On a break (for `minutes`, from `at`), or back from it: refused while en route or on site.

    A technician on a break can still be sent to an emergency, but leaves only when the break is over.
    """

    async def run(session: AsyncSession, me: uuid.UUID) -> dict[str, Any]:
        return await use_cases(request).fieldwork.take_break(  # type: ignore[no-any-return]
            session, me, body.on_break, body.at, body.minutes
        )

    return await _once(request, principal, body.client_command_id, "break", run)


@router.post("/positions")
async def positions(body: PingsIn, request: Request, principal: Principal = Depends(technicians)) -> JSONResponse:
    """A batch of pings; the live position follows the newest one."""

    async def run(session: AsyncSession, me: uuid.UUID) -> dict[str, Any]:
        pings = [(p.at, p.position.lat, p.position.lon, p.accuracy_m) for p in body.pings]
        return {"stored": await use_cases(request).fieldwork.report_pings(session, me, pings), "received": len(pings)}

    return await _once(request, principal, body.client_command_id, "positions", run)
