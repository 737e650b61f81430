"""The customer portal's API: a customer files and cancels its own requests and reads them, each with its
timeline and live stream, as allow-listed projections (services/requests/domain/customer_view.py), never the
staff view passed along.

Filing and cancelling run the same use cases as `/requests` (one Idempotency-Key space: a retry through either
path finds the same request); only the answer differs. `/requests/{id}`, its stream and the answers of
`POST /requests` and `/cancel` stay the staff view (a technician's id, coverage reasons) until issue 16 narrows
them; the portal calls only these and the survey's endpoints (whose answer is customer-safe).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.requests.adapters.timeline_stream import timeline_events
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
    CustomerTimelineEntry,
    ServiceRequestIn,
)
from services.requests.domain.customer_view import customer_detail, customer_timeline
from services.requests.domain.filing import Coverage
from services.requests.domain.lifecycle import customer_may_cancel
from services.requests.domain.records import ServiceRequestRecord, TimelineRecord
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

# the fields of a request a customer reads (CustomerRequestOut lists them; nothing else leaves)
CUSTOMER_FIELDS = {
    "id",
    "site_id",
    "equipment_id",
    "kind",
    "priority",
    "description",
    "contact",
    "preferred_windows",
    "status",
    "covered",
    "billable",
    "quota_exceeded",
    "response_due",
    "fix_due",
    "technician_first_name",
    "eta",
    "follow_up_of",
    "cancelled_at",
    "created_at",
    "updated_at",
}


def customer_request(row: ServiceRequestRecord) -> CustomerRequestOut:
    shown = {name: getattr(row, name) for name in CUSTOMER_FIELDS}
    coverage = Coverage(covered=row.covered, quota_exceeded=row.quota_exceeded)
    return CustomerRequestOut.model_validate(
        shown
        | {
            "coverage": coverage.label,
            "site_address": row.site_address,
            "may_cancel": customer_may_cancel(row.status),
        }
    )


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
    detail = await request_detail(session, principal, request_id)
    return CustomerRequestDetail.model_validate(
        {
            **customer_request(detail.request).model_dump(),
            "follow_up_request_id": detail.follow_up_request_id,
            "timeline": [
                CustomerTimelineEntry(id=entry.id, status=entry.status, at=entry.at, detail=shown)
                for entry, shown in customer_timeline(detail.timeline)
            ],
        }
    )


def _shown(entry: TimelineRecord) -> tuple[str, dict[str, Any]]:
    # an entry the customer does not see still moves the cursor: it arrives as a bare "update"
    detail = customer_detail(entry)
    return (entry.status, detail) if detail is not None else ("update", {})


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

    def snapshot(current: ServiceRequestRecord) -> dict[str, Any]:
        return customer_request(current).model_dump(
            mode="json", include={"status", "technician_first_name", "eta", "response_due", "fix_due", "may_cancel"}
        )

    frames = timeline_events(
        db, hub, request_id, stream_cursor(last_event_id), settings.stream_keepalive_s, snapshot, _shown
    )
    return limited_sse_response(request, principal, frames)
