"""The technician's mobile API: my day, accept/decline, steps, position pings, completion report.

Commands carry a client_command_id: a replayed offline queue gets the stored answers and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.api.deps import TechnicianCaller, UnitOfWork, UseCases, me
from services.dispatch.api.desk_schemas import TechnicianDayOut
from services.dispatch.api.schemas import (
    AssignmentOut,
    BreakIn,
    CompletionReportIn,
    DeclineIn,
    MobileCommand,
    MobileStatusIn,
    PingsIn,
)
from services.dispatch.domain.windows import booked_window
from services.dispatch.usecases import DispatchUseCases
from shared.auth import Principal
from shared.http import PROBLEM_JSON

router = APIRouter(prefix="/me", tags=["technician"])


def _answer(status_code: int, body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, media_type=PROBLEM_JSON if status_code >= 400 else None)


@router.get("/day", response_model=TechnicianDayOut)
async def my_day(
    session: UnitOfWork, cases: UseCases, principal: TechnicianCaller, day: date | None = None
) -> dict[str, Any]:
    """The route of the day: each stop with its site, units, contact and what dispatch saw done there before."""
    mine = await cases.views.technician_day(session, me(principal), day)
    stops = []
    for a in mine.assignments:
        job = mine.jobs[a.request_id]
        stops.append(
            {
                "assignment": AssignmentOut.model_validate(a).model_dump(mode="json"),
                "request_id": str(job.request_id),
                "kind": job.kind,
                "priority": job.priority,
                "site": {
                    "site_id": str(job.site_id),
                    "address": job.address,
                    "location": {"lat": job.lat, "lon": job.lon},
                },
                "equipment_ids": job.equipment_ids,
                "description": job.description,
                "contact": {
                    "customer_id": str(job.customer_id),
                    "name": job.contact_name,
                    "phone": job.contact_phone,
                },
                "window": dict(zip(("start", "end"), booked_window(job, a.planned_start), strict=True)),
                "response_due": job.response_due,
                "fix_due": job.fix_due,
                "bundled_with": job.bundled_with,
                "history": [
                    {
                        "request_id": str(h.request_id),
                        "kind": h.kind,
                        "status": h.status,
                        "outcome": h.outcome,
                        "finished_at": h.finished_at,
                        "report": h.report,
                    }
                    for h in mine.site_history.get(job.site_id, [])
                ],
            }
        )
    return {
        "day": mine.day,
        "technician_id": mine.technician.id,
        "status": mine.technician.status,
        "plan_version": mine.plan_version,
        # the server's "now": the app keeps its device clock's offset from it and times queued steps with it
        "server_time": cases.clock(),
        "stops": stops,
    }


async def _once(
    session: AsyncSession,
    cases: DispatchUseCases,
    principal: Principal,
    client_command_id: uuid.UUID,
    kind: str,
    work: Callable[[AsyncSession, uuid.UUID], Awaitable[Any]],
) -> JSONResponse:
    """Runs a mobile command once per client command id, in one transaction; a replay gets the stored answer."""
    mine = me(principal)
    status_code, body = await cases.fieldwork.once(session, mine, client_command_id, kind, lambda: work(session, mine))
    return _answer(status_code, body)


async def _step(
    session: AsyncSession,
    cases: DispatchUseCases,
    principal: Principal,
    assignment_id: uuid.UUID,
    command: MobileCommand,
    kind: str,
    status: str,
    **extra: Any,
) -> JSONResponse:
    async def run(session: AsyncSession, technician_id: uuid.UUID) -> dict[str, Any]:
        row = await cases.fieldwork.change_status(
            session, principal, assignment_id, status, command.at, command.position, **extra
        )
        return AssignmentOut.model_validate(row).model_dump(mode="json")

    return await _once(session, cases, principal, command.client_command_id, kind, run)


@router.post("/assignments/{assignment_id}/accept", response_model=AssignmentOut)
async def accept(
    assignment_id: uuid.UUID, body: MobileCommand, session: UnitOfWork, cases: UseCases, principal: TechnicianCaller
) -> JSONResponse:
    return await _step(session, cases, principal, assignment_id, body, "accept", "accepted")


@router.post("/assignments/{assignment_id}/decline", response_model=AssignmentOut)
async def decline(
    assignment_id: uuid.UUID, body: DeclineIn, session: UnitOfWork, cases: UseCases, principal: TechnicianCaller
) -> JSONResponse:
    return await _step(
        session, cases, principal, assignment_id, body, "decline", "declined", reason=body.reason or None
    )


@router.post("/assignments/{assignment_id}/status", response_model=AssignmentOut)
async def step(
    assignment_id: uuid.UUID, body: MobileStatusIn, session: UnitOfWork, cases: UseCases, principal: TechnicianCaller
) -> JSONResponse:
    return await _step(session, cases, principal, assignment_id, body, f"status:{body.status}", body.status)


@router.post("/assignments/{assignment_id}/report", response_model=AssignmentOut)
async def report(
    assignment_id: uuid.UUID,
    body: CompletionReportIn,
    session: UnitOfWork,
    cases: UseCases,
    principal: TechnicianCaller,
) -> JSONResponse:
    """Completes the job (or fails it: needs_parts, no_access, customer_absent) with the technician's report."""
    completed = body.outcome == "completed"
    return await _step(
        session,
        cases,
        principal,
        assignment_id,
        body,
        "report",
        "completed" if completed else "failed",
        outcome=None if completed else body.outcome,
        report=body.model_dump(mode="json", exclude={"client_command_id", "position"}),
    )


@router.post("/break")
async def take_break(body: BreakIn, session: UnitOfWork, cases: UseCases, principal: TechnicianCaller) -> JSONResponse:
    """On a break (for `minutes`, from `at`), or back from it: refused while en route or on site.

    A technician on a break can still be sent to an emergency, but leaves only when the break is over.
    """

    async def run(session: AsyncSession, technician_id: uuid.UUID) -> dict[str, Any]:
        return await cases.fieldwork.take_break(session, technician_id, body.on_break, body.at, body.minutes)

    return await _once(session, cases, principal, body.client_command_id, "break", run)


@router.post("/positions")
async def positions(body: PingsIn, session: UnitOfWork, cases: UseCases, principal: TechnicianCaller) -> JSONResponse:
    """A batch of pings; the live position follows the newest one."""

    async def run(session: AsyncSession, technician_id: uuid.UUID) -> dict[str, Any]:
        pings = [(p.at, p.position.lat, p.position.lon, p.accuracy_m) for p in body.pings]
        return {"stored": await cases.fieldwork.report_pings(session, technician_id, pings), "received": len(pings)}

    return await _once(session, cases, principal, body.client_command_id, "positions", run)
