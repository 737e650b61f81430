"""HTTP API of the dispatch service (technicians, assignments)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, status

from services.dispatch.api.schemas import AssignmentOut, StatusChangeIn, TechnicianIn, TechnicianOut
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.db.tables import messaging
from services.dispatch.domain.lifecycle import TransitionRefused, check_transition
from shared.auth import Principal, Role, current_principal, ensure_technician_access, require_roles
from shared.db import Database
from shared.errors import Conflict, NotFound
from shared.events.common import GeoPoint
from shared.events.dispatch import AssignmentStatusChanged
from shared.messaging import add_event

router = APIRouter(tags=["dispatch"])
dispatchers = require_roles(Role.DISPATCHER)


def _db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def _technician_out(row: dict[str, Any]) -> TechnicianOut:
    return TechnicianOut(
        id=row["id"], name=row["name"], first_name=row["first_name"], skills=row["skills"], status=row["status"],
        active=row["active"], home_base=GeoPoint(lat=row["home_lat"], lon=row["home_lon"]),
        position=GeoPoint(lat=row["lat"], lon=row["lon"]), position_at=row["position_at"])


@router.post("/technicians", status_code=status.HTTP_201_CREATED, response_model=TechnicianOut)
async def create_technician(body: TechnicianIn, request: Request,
                            _: Principal = Depends(dispatchers)) -> TechnicianOut:
    technician_id = uuid.uuid4()
    first_name = body.first_name or body.name.split()[0]
    async with _db(request).transaction() as session:
        repo = DispatchRepository(session)
        await repo.add_technician(technician_id, body.name, first_name, body.skills, body.home_base.lat,
                                  body.home_base.lon)
        row = await repo.get_technician(technician_id)
    assert row is not None
    return _technician_out(row)


@router.get("/technicians", response_model=list[TechnicianOut])
async def list_technicians(request: Request, _: Principal = Depends(dispatchers)) -> list[TechnicianOut]:
    async with _db(request).transaction() as session:
        return [_technician_out(r) for r in await DispatchRepository(session).list_technicians()]


@router.get("/technicians/{technician_id}", response_model=TechnicianOut)
async def get_technician(technician_id: uuid.UUID, request: Request,
                         principal: Principal = Depends(current_principal)) -> TechnicianOut:
    ensure_technician_access(principal, technician_id, "technician")
    async with _db(request).transaction() as session:
        row = await DispatchRepository(session).get_technician(technician_id)
    if row is None:
        raise NotFound("technician not found")
    return _technician_out(row)


@router.get("/me/assignments", response_model=list[AssignmentOut])
async def my_assignments(request: Request,
                         principal: Principal = Depends(require_roles(Role.TECHNICIAN))) -> list[AssignmentOut]:
    if principal.technician_id is None:
        return []
    async with _db(request).transaction() as session:
        rows = await DispatchRepository(session).assignments_of(principal.technician_id)
    return [AssignmentOut.model_validate(r) for r in rows]


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
async def get_assignment(assignment_id: uuid.UUID, request: Request,
                         principal: Principal = Depends(current_principal)) -> AssignmentOut:
    async with _db(request).transaction() as session:
        row = await DispatchRepository(session).get_assignment(assignment_id)
    if row is None:
        raise NotFound("assignment not found")
    ensure_technician_access(principal, row["technician_id"], "assignment")
    return AssignmentOut.model_validate(row)


@router.post("/assignments/{assignment_id}/status", response_model=AssignmentOut)
async def change_status(assignment_id: uuid.UUID, body: StatusChangeIn, request: Request,
                        principal: Principal = Depends(require_roles(Role.TECHNICIAN, Role.DISPATCHER))
                        ) -> AssignmentOut:
    async with _db(request).transaction() as session:
        repo = DispatchRepository(session)
        row = await repo.get_assignment(assignment_id, for_update=True)
        if row is None:
            raise NotFound("assignment not found")
        ensure_technician_access(principal, row["technician_id"], "assignment")
        if row["status"] != body.status:
            try:
                check_transition(row["status"], body.status)
            except TransitionRefused as exc:
                raise Conflict(str(exc)) from exc
            at = body.at or datetime.now(UTC)
            position = (body.position.lat, body.position.lon) if body.position else None
            await repo.set_assignment_status(assignment_id, body.status, at, position,
                                             {"outcome": body.outcome, "by": principal.subject})
            await add_event(session, messaging, AssignmentStatusChanged(
                assignment_id=assignment_id, request_id=row["request_id"], customer_id=row["customer_id"],
                technician_id=row["technician_id"], status="cancelled" if body.status == "declined" else body.status,
                previous_status=row["status"], at=at, position=body.position, outcome=body.outcome))
            row = await repo.get_assignment(assignment_id)
    assert row is not None
    return AssignmentOut.model_validate(row)
