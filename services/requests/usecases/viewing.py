"""Reading requests: one with its timeline, a history (a customer only ever sees its own), a stream's owner check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.requests import RequestsRepository
from services.requests.db.timeline import TimelineRepository
from services.requests.domain.records import TIMELINE_ID_MAX, ServiceRequestRecord, TimelineRecord
from shared.auth import Principal, Role, ensure_customer_access
from shared.errors import NotFound


@dataclass(frozen=True)
class RequestDetail:
    request: ServiceRequestRecord
    timeline: list[TimelineRecord]
    follow_up_request_id: uuid.UUID | None


async def readable_request(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> ServiceRequestRecord:
    """The request, when this principal may see it; NotFound otherwise."""
    row = await RequestsRepository(session).get(request_id)
    if row is None:
        raise NotFound("request not found")
    ensure_customer_access(principal, row.customer_id, "request")
    return row


def stream_cursor(last_event_id: int) -> int:
    """Where a stream resumes: after `last_event_id`, or from the start when no entry ever had that id.

    A client can only have seen ids we issued; a larger one is a corrupted or foreign cursor, and replaying
    the whole timeline (the client de-duplicates by id) is the answer that loses nothing.
    """
    return last_event_id if last_event_id <= TIMELINE_ID_MAX else 0


async def request_detail(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> RequestDetail:
    row = await readable_request(session, principal, request_id)
    return RequestDetail(
        row,
        await TimelineRepository(session).entries(request_id),
        await RequestsRepository(session).follow_up_of(request_id),
    )


async def history(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None = None,
    site_id: uuid.UUID | None = None,
    equipment_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[ServiceRequestRecord]:
    """Requests matching the filters, newest first; a customer only ever sees its own."""
    if principal.role is Role.CUSTOMER:
        customer_id = principal.customer_id
    elif principal.is_staff:
        customer_id = None
    else:
        return []
    return await RequestsRepository(session).search(
        customer_id=customer_id, status=status, site_id=site_id, equipment_id=equipment_id, limit=limit
    )
