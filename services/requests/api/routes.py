"""HTTP API of the requests service: filing, tracking, history and cancellation."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.requests.api.schemas import (
    CancelIn,
    EtaChange,
    ServiceRequestDetail,
    ServiceRequestIn,
    ServiceRequestOut,
    TimelineEntry,
)
from services.requests.cancellation import cancel_request
from services.requests.db.repository import RequestsRepository
from services.requests.domain.filing import Coverage
from services.requests.filing import file_request
from services.requests.settings import Settings
from services.requests.streams import timeline_events
from shared.auth import Principal, Role, current_principal, ensure_customer_access
from shared.clock import Clock
from shared.db import Database
from shared.errors import InvalidInput, NotFound
from shared.http import sse_response
from shared.listen import NotificationHub

router = APIRouter(tags=["requests"])

# timeline entries that carry an ETA the customer was shown
ETA_ENTRIES = ("assigned", "eta_changed")


def runtime_db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def service_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def service_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def request_out(row: dict[str, Any]) -> ServiceRequestOut:
    coverage = Coverage(covered=row["covered"], quota_exceeded=row["quota_exceeded"])
    return ServiceRequestOut.model_validate({**row, "coverage": coverage.label})


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=ServiceRequestOut,
             responses={200: {"description": "The request this Idempotency-Key already created"},
                        503: {"description": "Coverage could not be checked; nothing was filed (see Retry-After)"}})
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
    settings = service_settings(request)
    row, created = await file_request(runtime_db(request), request.app.state.runtime.nc, principal, owner,
                                      idempotency_key, body, now=service_clock(request).now(),
                                      timeout_s=settings.entitlement_timeout_s,
                                      retry_after_s=settings.entitlement_retry_after_s)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/requests/{row['id']}"
    return request_out(row)


async def _history(db: Database, principal: Principal, **filters: Any) -> list[ServiceRequestOut]:
    """Requests matching `filters`; a customer only ever sees its own."""
    if principal.role is Role.CUSTOMER:
        filters["customer_id"] = principal.customer_id
    elif not principal.is_staff:
        return []
    async with db.transaction() as session:
        rows = await RequestsRepository(session).search(**filters)
    return [request_out(r) for r in rows]


@router.get("/requests", response_model=list[ServiceRequestOut])
async def list_requests(request: Request, status_: str | None = Query(None, alias="status"),
                        site_id: uuid.UUID | None = None, equipment_id: uuid.UUID | None = None,
                        limit: int = Query(100, ge=1, le=500),
                        principal: Principal = Depends(current_principal)) -> list[ServiceRequestOut]:
    return await _history(runtime_db(request), principal, status=status_, site_id=site_id,
                          equipment_id=equipment_id, limit=limit)


@router.get("/sites/{site_id}/requests", response_model=list[ServiceRequestOut],
            summary="A site's service history, newest first")
async def site_history(site_id: uuid.UUID, request: Request, limit: int = Query(100, ge=1, le=500),
                       principal: Principal = Depends(current_principal)) -> list[ServiceRequestOut]:
    return await _history(runtime_db(request), principal, site_id=site_id, limit=limit)


@router.get("/equipment/{equipment_id}/requests", response_model=list[ServiceRequestOut],
            summary="A unit's service history, newest first")
async def unit_history(equipment_id: uuid.UUID, request: Request, limit: int = Query(100, ge=1, le=500),
                       principal: Principal = Depends(current_principal)) -> list[ServiceRequestOut]:
    return await _history(runtime_db(request), principal, equipment_id=equipment_id, limit=limit)


@router.get("/requests/{request_id}", response_model=ServiceRequestDetail)
async def get_request(request_id: uuid.UUID, request: Request,
                      principal: Principal = Depends(current_principal)) -> ServiceRequestDetail:
    async with runtime_db(request).transaction() as session:
        repo = RequestsRepository(session)
        row = await repo.get(request_id)
        if row is None:
            raise NotFound("request not found")
        ensure_customer_access(principal, row["customer_id"], "request")
        timeline = await repo.timeline(request_id)
        follow_up_id = await repo.follow_up_of(request_id)
    return ServiceRequestDetail.model_validate({
        **request_out(row).model_dump(), "follow_up_request_id": follow_up_id,
        "timeline": [TimelineEntry.model_validate(e) for e in timeline],
        "eta_changes": [EtaChange(at=e["at"], eta=e["detail"]["eta"]) for e in timeline
                        if e["status"] in ETA_ENTRIES and e["detail"].get("eta")],
    })


@router.get("/requests/{request_id}/stream", response_class=StreamingResponse,
            summary="Live tracking over SSE: every timeline entry with the request's status, technician and ETA")
async def stream_request(request_id: uuid.UUID, request: Request,
                         last_event_id: int = Header(0, alias="Last-Event-ID", ge=0),
                         principal: Principal = Depends(current_principal)) -> StreamingResponse:
    db = runtime_db(request)
    async with db.transaction() as session:
        row = await RequestsRepository(session).get(request_id)
    if row is None:
        raise NotFound("request not found")
    ensure_customer_access(principal, row["customer_id"], "request")
    hub: NotificationHub = request.app.state.runtime.extras["timeline_hub"]

    def snapshot(current: dict[str, Any]) -> dict[str, Any]:
        return request_out(current).model_dump(mode="json", include={
            "status", "technician_first_name", "eta", "response_due", "fix_due"})

    return sse_response(
        timeline_events(db, hub, request_id, last_event_id, service_settings(request).stream_keepalive_s, snapshot))


@router.post("/requests/{request_id}/cancel", response_model=ServiceRequestOut)
async def cancel(request_id: uuid.UUID, request: Request, body: CancelIn | None = None,
                 principal: Principal = Depends(current_principal)) -> ServiceRequestOut:
    row = await cancel_request(runtime_db(request), principal, request_id, body.reason if body else "",
                               service_clock(request).now())
    return request_out(row)
