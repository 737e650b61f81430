"""HTTP API of the dispatch service: technicians and their calendar; shared assignment endpoints."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, status

from services.dispatch.api.schemas import (
    AbsenceIn,
    AssignmentOut,
    ShiftsIn,
    StatusChangeIn,
    TechnicianIn,
    TechnicianOut,
    stored_pattern,
)
from services.dispatch.db.repository import DispatchRepository
from shared.auth import Principal, Role, current_principal, ensure_technician_access, require_roles
from shared.db import Database
from shared.errors import NotFound
from shared.events.common import GeoPoint
from shared.pagination import Paging

router = APIRouter(tags=["dispatch"])
dispatchers = require_roles(Role.DISPATCHER)


def db_of(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def use_cases(request: Request) -> Any:
    return request.app.state.dispatch


def technician_out(row: dict[str, Any]) -> TechnicianOut:
    return TechnicianOut(
        id=row["id"],
        name=row["name"],
        first_name=row["first_name"],
        skills=row["skills"],
        status=row["status"],
        active=row["active"],
        home_base=GeoPoint(lat=row["home_lat"], lon=row["home_lon"]),
        position=GeoPoint(lat=row["lat"], lon=row["lon"]),
        position_at=row["position_at"],
        weekly_shifts=row["weekly_shifts"],
        territory=row["territory"],
        break_ends_at=row["break_ends_at"],
    )


@router.post("/technicians", status_code=status.HTTP_201_CREATED, response_model=TechnicianOut)
async def create_technician(body: TechnicianIn, request: Request, _: Principal = Depends(dispatchers)) -> TechnicianOut:
    async with db_of(request).transaction() as session:
        technician_id = await use_cases(request).roster.add_technician(
            session,
            body.name,
            body.first_name or body.name.split()[0],
            body.skills,
            body.home_base.lat,
            body.home_base.lon,
            stored_pattern(body.weekly_shifts),
            body.territory,
            body.overtime_minutes,
        )
        row = await DispatchRepository(session).get_technician(technician_id)
    assert row is not None
    return technician_out(row)


@router.get("/technicians", response_model=list[TechnicianOut])
async def list_technicians(request: Request, page: Paging, _: Principal = Depends(dispatchers)) -> list[TechnicianOut]:
    async with db_of(request).transaction() as session:
        return [technician_out(r) for r in page.window(await DispatchRepository(session).list_technicians())]


@router.get("/technicians/{technician_id}", response_model=TechnicianOut)
async def get_technician(
    technician_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)
) -> TechnicianOut:
    ensure_technician_access(principal, technician_id, "technician")
    async with db_of(request).transaction() as session:
        row = await DispatchRepository(session).get_technician(technician_id)
    if row is None:
        raise NotFound("technician not found")
    return technician_out(row)


@router.put("/technicians/{technician_id}/shifts", response_model=TechnicianOut)
async def set_shifts(
    technician_id: uuid.UUID, body: ShiftsIn, request: Request, _: Principal = Depends(dispatchers)
) -> TechnicianOut:
    async with db_of(request).transaction() as session:
        await use_cases(request).roster.set_weekly_shifts(session, technician_id, stored_pattern(body.weekly_shifts))
        row = await DispatchRepository(session).get_technician(technician_id)
    assert row is not None
    return technician_out(row)


@router.post("/technicians/{technician_id}/absences", status_code=status.HTTP_201_CREATED)
async def add_absence(
    technician_id: uuid.UUID, body: AbsenceIn, request: Request, _: Principal = Depends(dispatchers)
) -> dict[str, Any]:
    """Sickness, leave or training: the shifts it touches are cut and those days re-planned."""
    async with db_of(request).transaction() as session:
        absence_id = await use_cases(request).roster.add_absence(
            session, technician_id, body.kind, body.starts_at, body.ends_at, body.note
        )
    return {"id": absence_id, "technician_id": technician_id, **body.model_dump()}


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
async def get_assignment(
    assignment_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)
) -> AssignmentOut:
    async with db_of(request).transaction() as session:
        row = await DispatchRepository(session).get_assignment(assignment_id)
    if row is None:
        raise NotFound("assignment not found")
    ensure_technician_access(principal, row["technician_id"], "assignment")
    return AssignmentOut.model_validate(row)


@router.post("/assignments/{assignment_id}/status", response_model=AssignmentOut)
async def change_status(
    assignment_id: uuid.UUID,
    body: StatusChangeIn,
    request: Request,
    principal: Principal = Depends(require_roles(Role.TECHNICIAN, Role.DISPATCHER)),
) -> AssignmentOut:
    async with db_of(request).transaction() as session:
        row = await use_cases(request).fieldwork.change_status(
            session, principal, assignment_id, body.status, body.at, body.position, body.outcome, reason=body.reason
        )
    return AssignmentOut.model_validate(row)
