"""HTTP API of the dispatch service: technicians and their calendar; shared assignment endpoints."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, status

from services.dispatch.api.deps import Caller, Dispatcher, UnitOfWork, UseCases
from services.dispatch.api.schemas import (
    AbsenceIn,
    AssignmentOut,
    ShiftsIn,
    StatusChangeIn,
    TechnicianIn,
    TechnicianLimitsIn,
    TechnicianOut,
    stored_pattern,
)
from services.dispatch.domain.records import TechnicianRecord
from shared.auth import Principal, Role, ensure_technician_access, require_roles
from shared.events.common import GeoPoint
from shared.pagination import Paging
from shared.timestamps import in_utc

router = APIRouter(tags=["dispatch"])


def technician_out(row: TechnicianRecord) -> TechnicianOut:
    return TechnicianOut(
        id=row.id,
        name=row.name,
        first_name=row.first_name,
        skills=row.skills,
        status=row.status,
        active=row.active,
        home_base=GeoPoint(lat=row.home_lat, lon=row.home_lon),
        position=GeoPoint(lat=row.lat, lon=row.lon),
        position_at=row.position_at,
        weekly_shifts=row.weekly_shifts,
        territory=row.territory,
        territory_ids=list(row.territory_ids),
        break_ends_at=row.break_ends_at,
        phone=row.phone,
        overtime_minutes=row.overtime_minutes,
        max_travel_minutes=row.max_travel_minutes,
        overtime_cost_per_hour=row.overtime_cost_per_hour,
    )


@router.post("/technicians", status_code=status.HTTP_201_CREATED, response_model=TechnicianOut)
async def create_technician(body: TechnicianIn, session: UnitOfWork, cases: UseCases, _: Dispatcher) -> TechnicianOut:
    technician_id = await cases.roster.add_technician(
        session,
        body.name,
        body.first_name or body.name.split()[0],
        body.skills,
        body.home_base.lat,
        body.home_base.lon,
        stored_pattern(body.weekly_shifts),
        body.territory,
        body.overtime_minutes,
        body.phone,
        max_travel_minutes=body.max_travel_minutes,
        overtime_cost_per_hour=body.overtime_cost_per_hour,
        territory_ids=body.territory_ids,
    )
    return technician_out(await cases.views.technician(session, technician_id))


@router.get("/technicians", response_model=list[TechnicianOut])
async def list_technicians(session: UnitOfWork, cases: UseCases, page: Paging, _: Dispatcher) -> list[TechnicianOut]:
    return [technician_out(r) for r in page.window(await cases.views.technicians(session))]


@router.get("/technicians/{technician_id}", response_model=TechnicianOut)
async def get_technician(
    technician_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller
) -> TechnicianOut:
    ensure_technician_access(principal, technician_id, "technician")
    return technician_out(await cases.views.technician(session, technician_id))


@router.put("/technicians/{technician_id}/shifts", response_model=TechnicianOut)
async def set_shifts(
    technician_id: uuid.UUID, body: ShiftsIn, session: UnitOfWork, cases: UseCases, _: Dispatcher
) -> TechnicianOut:
    await cases.roster.set_weekly_shifts(session, technician_id, stored_pattern(body.weekly_shifts))
    return technician_out(await cases.views.technician(session, technician_id))


@router.put("/technicians/{technician_id}/limits", response_model=TechnicianOut)
async def set_limits(
    technician_id: uuid.UUID, body: TechnicianLimitsIn, session: UnitOfWork, cases: UseCases, _: Dispatcher
) -> TechnicianOut:
    """Overtime allowance, daily driving limit and overtime rate, replaced whole; the days ahead are re-planned."""
    await cases.roster.set_limits(
        session, technician_id, body.overtime_minutes, body.max_travel_minutes, body.overtime_cost_per_hour
    )
    return technician_out(await cases.views.technician(session, technician_id))


@router.post("/technicians/{technician_id}/absences", status_code=status.HTTP_201_CREATED)
async def add_absence(
    technician_id: uuid.UUID, body: AbsenceIn, session: UnitOfWork, cases: UseCases, _: Dispatcher
) -> dict[str, Any]:
    """Sickness, leave or training: the shifts it touches are cut and those days re-planned."""
    absence_id = await cases.roster.add_absence(
        session, technician_id, body.kind, body.starts_at, body.ends_at, body.note
    )
    return in_utc({"id": absence_id, "technician_id": technician_id, **body.model_dump()})  # type: ignore[no-any-return]


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
async def get_assignment(
    assignment_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller
) -> AssignmentOut:
    row = await cases.views.assignment(session, assignment_id)
    ensure_technician_access(principal, row.technician_id, "assignment")
    return AssignmentOut.model_validate(row)


@router.post("/assignments/{assignment_id}/status", response_model=AssignmentOut)
async def change_status(
    assignment_id: uuid.UUID,
    body: StatusChangeIn,
    session: UnitOfWork,
    cases: UseCases,
    principal: Principal = Depends(require_roles(Role.TECHNICIAN, Role.DISPATCHER)),
) -> AssignmentOut:
    row = await cases.fieldwork.change_status(
        session, principal, assignment_id, body.status, body.at, body.position, body.outcome, reason=body.reason
    )
    return AssignmentOut.model_validate(row)
