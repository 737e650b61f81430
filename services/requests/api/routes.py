"""HTTP API of the requests service: filing, tracking, history and cancellation."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.requests.adapters.timeline_stream import timeline_events
from services.requests.api.customer_answers import (
    customer_request,
    customer_request_detail,
    customer_shown,
    customer_snapshot,
)
from services.requests.api.deps import (
    CurrentPrincipal,
    Entitlement,
    Now,
    ServiceSettings,
    TimelineHub,
    Transactions,
    UnitOfWork,
)
from services.requests.api.schemas import (
    CancelIn,
    CustomerRequestDetail,
    CustomerRequestOut,
    EtaChange,
    ServiceRequestDetail,
    ServiceRequestIn,
    ServiceRequestOut,
    TimelineEntry,
)
from services.requests.domain.filing import Coverage, RequestDraft, TimeWindow
from services.requests.domain.records import ServiceRequestRecord
from services.requests.usecases.cancellation import cancel_request
from services.requests.usecases.filing import file_request
from services.requests.usecases.viewing import history, readable_request, request_detail, stream_cursor
from shared.auth import Principal, Role
from shared.errors import InvalidInput, NotFound
from shared.pagination import MAX_LIMIT
from shared.ratelimit import per_principal_and_ip
from shared.streams import limited_sse_response
from shared.text import PlainText

router = APIRouter(tags=["requests"])

# timeline entries that carry an ETA the customer was shown
ETA_ENTRIES = ("assigned", "eta_changed")


def request_out(row: ServiceRequestRecord) -> ServiceRequestOut:
    coverage = Coverage(covered=row.covered, quota_exceeded=row.quota_exceeded)
    return ServiceRequestOut.model_validate({**asdict(row), "coverage": coverage.label})


def request_draft(body: ServiceRequestIn) -> RequestDraft:
    return RequestDraft(
        site_id=body.site_id,
        equipment_id=body.equipment_id,
        kind=body.kind,
        priority=body.priority,
        description=body.description,
        contact=body.contact.model_dump(),
        preferred_windows=tuple(TimeWindow(w.start, w.end) for w in body.preferred_windows),
        # of the body as sent (stored with each request: keep the form to keep old keys working)
        fingerprint=hashlib.sha256(body.model_dump_json().encode()).hexdigest(),
    )


def _answer(principal: Principal, row: ServiceRequestRecord) -> ServiceRequestOut | CustomerRequestOut:
    """Staff read the whole record; a customer its own view, whichever route it called."""
    return customer_request(row) if principal.role is Role.CUSTOMER else request_out(row)


def _answers(principal: Principal, rows: list[ServiceRequestRecord]) -> list[ServiceRequestOut | CustomerRequestOut]:
    return [_answer(principal, r) for r in rows]


def _staff_snapshot(current: ServiceRequestRecord) -> dict[str, Any]:
    """The tracking fields staff's stream sends with each entry."""
    return request_out(current).model_dump(
        mode="json", include={"status", "technician_first_name", "eta", "response_due", "fix_due"}
    )


def _owner(principal: Principal, customer_id: uuid.UUID | None) -> uuid.UUID:
    """The customer a request is filed for: the caller itself, or the one staff name."""
    if principal.role is Role.CUSTOMER:
        assert principal.customer_id is not None
        return principal.customer_id
    if principal.is_staff and customer_id is not None:
        return customer_id
    if principal.is_staff:
        raise InvalidInput("customer_id", "staff must name the customer they file for")
    raise NotFound("not found")


@router.post(
    "/requests",
    dependencies=[Depends(per_principal_and_ip("filing"))],
    status_code=status.HTTP_201_CREATED,
    response_model=ServiceRequestOut | CustomerRequestOut,
    description="A customer's answer is the customer's view (as `/customer/requests`), staff get the whole record.",
    responses={
        200: {"description": "The request this Idempotency-Key already created"},
        503: {"description": "Coverage could not be checked; nothing was filed (see Retry-After)"},
    },
)
async def create_request(
    body: ServiceRequestIn,
    response: Response,
    db: Transactions,
    entitlement: Entitlement,
    principal: CurrentPrincipal,
    now: Now,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=200),
    customer_id: uuid.UUID | None = Query(None, description="staff filing on a customer's behalf"),
) -> ServiceRequestOut | CustomerRequestOut:
    owner = _owner(principal, customer_id)
    row, created = await file_request(
        db.transaction, entitlement, principal, owner, idempotency_key, request_draft(body), now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/requests/{row.id}"
    return _answer(principal, row)


@router.get("/requests", response_model=list[ServiceRequestOut] | list[CustomerRequestOut])
async def list_requests(
    session: UnitOfWork,
    principal: CurrentPrincipal,
    status_: PlainText | None = Query(None, alias="status"),
    site_id: uuid.UUID | None = None,
    equipment_id: uuid.UUID | None = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
) -> list[ServiceRequestOut | CustomerRequestOut]:
    rows = await history(session, principal, status=status_, site_id=site_id, equipment_id=equipment_id, limit=limit)
    return _answers(principal, rows)


@router.get(
    "/sites/{site_id}/requests",
    response_model=list[ServiceRequestOut] | list[CustomerRequestOut],
    summary="A site's service history, newest first",
)
async def site_history(
    site_id: uuid.UUID, session: UnitOfWork, principal: CurrentPrincipal, limit: int = Query(100, ge=1, le=MAX_LIMIT)
) -> list[ServiceRequestOut | CustomerRequestOut]:
    return _answers(principal, await history(session, principal, site_id=site_id, limit=limit))


@router.get(
    "/equipment/{equipment_id}/requests",
    response_model=list[ServiceRequestOut] | list[CustomerRequestOut],
    summary="A unit's service history, newest first",
)
async def unit_history(
    equipment_id: uuid.UUID,
    session: UnitOfWork,
    principal: CurrentPrincipal,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
) -> list[ServiceRequestOut | CustomerRequestOut]:
    return _answers(principal, await history(session, principal, equipment_id=equipment_id, limit=limit))


@router.get(
    "/requests/{request_id}",
    response_model=ServiceRequestDetail | CustomerRequestDetail,
    description="A customer reads its own request as `/customer/requests/{id}` shows it (the customer's timeline).",
)
async def get_request(
    request_id: uuid.UUID, session: UnitOfWork, principal: CurrentPrincipal
) -> ServiceRequestDetail | CustomerRequestDetail:
    detail = await request_detail(session, principal, request_id)
    if principal.role is Role.CUSTOMER:
        return customer_request_detail(detail)
    timeline = detail.timeline
    return ServiceRequestDetail.model_validate(
        {
            **request_out(detail.request).model_dump(),
            "follow_up_request_id": detail.follow_up_request_id,
            "timeline": [TimelineEntry.model_validate(e, from_attributes=True) for e in timeline],
            "eta_changes": [
                EtaChange(at=e.at, eta=e.detail["eta"])
                for e in timeline
                if e.status in ETA_ENTRIES and e.detail.get("eta")
            ],
        }
    )


@router.get(
    "/requests/{request_id}/stream",
    response_class=StreamingResponse,
    summary="Live tracking over SSE: every timeline entry with the request's status, technician and ETA",
    description="Resumes after `Last-Event-ID` (a non-negative whole number, else 422). An id beyond any "
    "ever issued replays the timeline from the start: ids identify entries, so a client "
    "drops what it has already seen.",
)
async def stream_request(
    request: Request,
    request_id: uuid.UUID,
    session: UnitOfWork,
    db: Transactions,
    hub: TimelineHub,
    settings: ServiceSettings,
    principal: CurrentPrincipal,
    last_event_id: int = Header(0, alias="Last-Event-ID", ge=0),
) -> StreamingResponse:
    await readable_request(session, principal, request_id)
    cursor = stream_cursor(last_event_id)

    if principal.role is Role.CUSTOMER:  # the customer's allow-list, as on /customer/requests/{id}/stream
        frames = timeline_events(
            db, hub, request_id, cursor, settings.stream_keepalive_s, customer_snapshot, customer_shown
        )
    else:
        frames = timeline_events(db, hub, request_id, cursor, settings.stream_keepalive_s, _staff_snapshot)
    return limited_sse_response(request, principal, frames)


@router.post(
    "/requests/{request_id}/cancel",
    dependencies=[Depends(per_principal_and_ip("cancelling"))],
    response_model=ServiceRequestOut | CustomerRequestOut,
)
async def cancel(
    request_id: uuid.UUID, session: UnitOfWork, principal: CurrentPrincipal, now: Now, body: CancelIn | None = None
) -> ServiceRequestOut | CustomerRequestOut:
    return _answer(principal, await cancel_request(session, principal, request_id, body.reason if body else "", now))
