"""The customer portal's API: a customer files and cancels its own requests and reads them, each with its
timeline and live stream, as allow-listed projections (services/requests/domain/customer_view.py), never the
staff view passed along.

Filing and cancelling run the same use cases as `/requests` (one Idempotency-Key space: a retry through either
path finds the same request). A customer calling the shared `/requests/...` routes gets these same answers
(services/requests/api/customer_answers.py); the portal calls only these and the survey's endpoints.
"""

from __future__ import annotations

import uuid

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
from services.requests.api.routes import request_draft
from services.requests.api.schemas import (
    CancelIn,
    CustomerRequestDetail,
    CustomerRequestOut,
    ServiceRequestIn,
)
from services.requests.usecases.cancellation import cancel_request
from services.requests.usecases.filing import file_request
from services.requests.usecases.viewing import history, readable_request, request_detail, stream_cursor
from shared.auth import Principal, Role
from shared.errors import Forbidden
from shared.pagination import MAX_LIMIT
from shared.ratelimit import per_principal_and_ip
from shared.streams import limited_sse_response
from shared.text import PlainText

router = APIRouter(prefix="/customer", tags=["customer portal"])


def _customer(principal: Principal) -> uuid.UUID:
    if principal.role is not Role.CUSTOMER or principal.customer_id is None:
        raise Forbidden("customers file and cancel here; staff use /requests")
    return principal.customer_id


@router.post(
    "/requests",
    dependencies=[Depends(per_principal_and_ip("filing"))],
    status_code=status.HTTP_201_CREATED,
    response_model=CustomerRequestOut,
    summary="File a request for one of my sites (Idempotency-Key: a retry never files twice)",
    responses={
        200: {"description": "The request this Idempotency-Key already created"},
        503: {"description": "Coverage could not be checked; nothing was filed (see Retry-After)"},
    },
)
async def file_my_request(
    body: ServiceRequestIn,
    response: Response,
    db: Transactions,
    entitlement: Entitlement,
    principal: CurrentPrincipal,
    now: Now,
    idempotency_key: str = Header(..., alias="Idempotency-Key", min_length=1, max_length=200),
) -> CustomerRequestOut:
    owner = _customer(principal)
    row, created = await file_request(
        db.transaction, entitlement, principal, owner, idempotency_key, request_draft(body), now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/customer/requests/{row.id}"
    return customer_request(row)


@router.post(
    "/requests/{request_id}/cancel",
    dependencies=[Depends(per_principal_and_ip("cancelling"))],
    response_model=CustomerRequestOut,
    summary="Cancel my request, with my reason (until the technician is on the way)",
)
async def cancel_my_request(
    request_id: uuid.UUID, session: UnitOfWork, principal: CurrentPrincipal, now: Now, body: CancelIn | None = None
) -> CustomerRequestOut:
    _customer(principal)
    return customer_request(await cancel_request(session, principal, request_id, body.reason if body else "", now))


@router.get(
    "/requests",
    response_model=list[CustomerRequestOut],
    summary="My requests, newest first (a customer's own only; allow-listed fields)",
)
async def my_requests(
    session: UnitOfWork,
    principal: CurrentPrincipal,
    status_: PlainText | None = Query(None, alias="status"),
    site_id: uuid.UUID | None = None,
    equipment_id: uuid.UUID | None = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
) -> list[CustomerRequestOut]:
    rows = await history(session, principal, status=status_, site_id=site_id, equipment_id=equipment_id, limit=limit)
    return [customer_request(r) for r in rows]


@router.get(
    "/requests/{request_id}",
    response_model=CustomerRequestDetail,
    summary="One of my requests with its timeline as the customer sees it",
)
async def my_request(request_id: uuid.UUID, session: UnitOfWork, principal: CurrentPrincipal) -> CustomerRequestDetail:
    return customer_request_detail(await request_detail(session, principal, request_id))


@router.get(
    "/requests/{request_id}/stream",
    response_class=StreamingResponse,
    summary="Live tracking of my request over SSE: the customer's timeline entries with status, technician and ETA",
    description="As `/requests/{id}/stream`, with the customer's allow-list applied; an entry the customer does "
    "not see arrives as event `update` with an empty detail (the request's fields may have changed).",
)
async def stream_my_request(
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

    frames = timeline_events(
        db,
        hub,
        request_id,
        stream_cursor(last_event_id),
        settings.stream_keepalive_s,
        customer_snapshot,
        customer_shown,
    )
    return limited_sse_response(request, principal, frames)
