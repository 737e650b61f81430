"""HTTP API of the requests service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from services.requests.api.schemas import ServiceRequestIn, ServiceRequestOut, TimelineEntry
from services.requests.db.repository import RequestsRepository
from services.requests.db.tables import messaging
from services.requests.domain.lifecycle import TERMINAL, customer_may_cancel
from services.requests.filing import file_request
from shared.auth import Principal, Role, current_principal, ensure_customer_access
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.requests import ServiceRequestCancelled
from shared.messaging import add_event

router = APIRouter(tags=["requests"])


def _db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def _out(row: dict[str, Any], timeline: list[dict[str, Any]] | None = None) -> ServiceRequestOut:
    return ServiceRequestOut.model_validate(
        {**row, "timeline": [TimelineEntry.model_validate(e) for e in timeline or []]})


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=ServiceRequestOut,
             responses={200: {"description": "The request this Idempotency-Key already created"}})
async def create_request(
    body: ServiceRequestIn,
    request: Request,
    response: Response,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=200),
    customer_id: uuid.UUID | None = Query(None, description="staff filing on a customer's behalf"),
    principal: Principal = Depends(current_principal),
) -> ServiceRequestOut:
    if principal.role is Role.CUSTOMER:
        assert principal.customer_id is not None
        owner = principal.customer_id
    elif principal.is_staff and customer_id is not None:
        owner = customer_id
    elif principal.is_staff:
        raise InvalidInput("customer_id", "staff must name the customer they file for")
    else:
        raise NotFound("not found")
    row, created = await file_request(_db(request), request.app.state.runtime.nc, principal, owner,
                                      idempotency_key, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/requests/{row['id']}"
    return _out(row)


@router.get("/requests", response_model=list[ServiceRequestOut])
async def list_requests(request: Request, principal: Principal = Depends(current_principal)) -> list[ServiceRequestOut]:
    if principal.role is Role.CUSTOMER:
        customer_filter = principal.customer_id
    elif principal.is_staff:
        customer_filter = None
    else:
        return []
    async with _db(request).transaction() as session:
        rows = await RequestsRepository(session).list_for_customer(customer_filter)
    return [_out(r) for r in rows]


@router.get("/requests/{request_id}", response_model=ServiceRequestOut)
async def get_request(request_id: uuid.UUID, request: Request,
                      principal: Principal = Depends(current_principal)) -> ServiceRequestOut:
    async with _db(request).transaction() as session:
        repo = RequestsRepository(session)
        row = await repo.get(request_id)
        if row is None:
            raise NotFound("request not found")
        ensure_customer_access(principal, row["customer_id"], "request")
        timeline = await repo.timeline(request_id)
    return _out(row, timeline)


@router.post("/requests/{request_id}/cancel", response_model=ServiceRequestOut)
async def cancel_request(request_id: uuid.UUID, request: Request,
                         principal: Principal = Depends(current_principal)) -> ServiceRequestOut:
    async with _db(request).transaction() as session:
        repo = RequestsRepository(session)
        row = await repo.get(request_id, for_update=True)
        if row is None:
            raise NotFound("request not found")
        ensure_customer_access(principal, row["customer_id"], "request")
        if row["status"] == "cancelled":
            return _out(row)
        if row["status"] in TERMINAL:
            raise Conflict(f"a {row['status']} request cannot be cancelled")
        if not principal.is_staff and not customer_may_cancel(row["status"]):
            raise Conflict("the technician is on the way: only a dispatcher can cancel now")
        now = datetime.now(UTC)
        await repo.update(request_id, status="cancelled")
        await repo.add_timeline(request_id, "cancelled", now, detail={"by": principal.subject})
        await add_event(session, messaging, ServiceRequestCancelled(
            request_id=request_id, customer_id=row["customer_id"], cancelled_by=principal.role.value))
        row = await repo.get(request_id)
    assert row is not None
    return _out(row)
