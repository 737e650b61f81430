"""Cancelling a request: the customer until the technician is on the way, afterwards only a dispatcher."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.requests import RequestsRepository
from services.requests.db.tables import messaging
from services.requests.db.timeline import TimelineRepository
from services.requests.domain.lifecycle import cancellable, customer_may_cancel
from services.requests.domain.planned_visits import PLANNED
from services.requests.domain.records import ServiceRequestRecord
from shared.auth import Principal, Role, ensure_customer_access
from shared.errors import Conflict, Forbidden, NotFound
from shared.events.requests import ServiceRequestCancelled
from shared.messaging import add_event

MAY_CANCEL_ANY_TIME = (Role.DISPATCHER, Role.ADMIN)


async def cancel_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, reason: str, now: datetime
) -> ServiceRequestRecord:
    repo = RequestsRepository(session)
    row = await repo.get(request_id, for_update=True)
    if row is None:
        raise NotFound("request not found")
    ensure_customer_access(principal, row.customer_id, "request")
    if row.status == "cancelled":
        return row  # cancelling twice is the same as once
    if row.kind == PLANNED:
        raise Conflict("a planned visit is moved or cancelled in its contract's schedule, not as a request")
    if not cancellable(row.status):
        raise Conflict(f"a {row.status} request cannot be cancelled")
    if principal.role not in MAY_CANCEL_ANY_TIME and not customer_may_cancel(row.status):
        if principal.role is Role.CUSTOMER:
            raise Conflict("the technician is on the way: only a dispatcher can cancel now")
        raise Forbidden("only a dispatcher can cancel once the technician is on the way")
    await repo.update(
        request_id,
        status="cancelled",
        cancelled_at=now,
        cancelled_by=principal.role.value,
        cancel_reason=reason,
        updated_at=now,
    )
    await TimelineRepository(session).add(
        request_id, "cancelled", now, detail={"by": principal.subject, "role": principal.role.value, "reason": reason}
    )
    await add_event(
        session,
        messaging,
        ServiceRequestCancelled(
            request_id=request_id, customer_id=row.customer_id, cancelled_by=principal.role.value, reason=reason
        ),
        occurred_at=now,
    )
    cancelled = await repo.get(request_id)
    assert cancelled is not None
    return cancelled
