"""The customer portal's reads: a customer's own requests, each request's timeline and live stream, as
allow-listed projections (services/requests/domain/customer_view.py), never the staff view passed along.

Filing, cancelling and the survey keep their one endpoint each (routes.py, feedback.py): what they return
holds nothing the customer did not send or may not see. `/requests/{id}` and its stream stay the staff view
until issue 16 narrows them; the portal reads only these.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.requests.adapters.timeline_stream import timeline_events
from services.requests.api.deps import CurrentPrincipal, ServiceSettings, TimelineHub, Transactions, UnitOfWork
from services.requests.api.schemas import CustomerRequestDetail, CustomerRequestOut, CustomerTimelineEntry
from services.requests.domain.customer_view import customer_detail, customer_timeline
from services.requests.domain.filing import Coverage
from services.requests.domain.lifecycle import customer_may_cancel
from services.requests.domain.records import ServiceRequestRecord, TimelineRecord
from services.requests.usecases.viewing import history, readable_request, request_detail, stream_cursor
from shared.pagination import MAX_LIMIT
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
