"""Reading requests: one with its timeline, a history (a customer only ever sees its own), a stream's owner check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.repository import RequestsRepository
from shared.auth import Principal, Role, ensure_customer_access
from shared.errors import NotFound


@dataclass(frozen=True)
class RequestDetail:
    request: dict[str, Any]
    timeline: list[dict[str, Any]]
    follow_up_request_id: uuid.UUID | None


async def readable_request(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> dict[str, Any]:
    """The request, when this principal may see it; NotFound otherwise."""
    row = await RequestsRepository(session).get(request_id)
    if row is None:
        raise NotFound("request not found")
    ensure_customer_access(principal, row["customer_id"], "request")
    return row


async def request_detail(session: AsyncSession, principal: Principal, request_id: uuid.UUID) -> RequestDetail:
    row = await readable_request(session, principal, request_id)
    repo = RequestsRepository(session)
    return RequestDetail(row, await repo.timeline(request_id), await repo.follow_up_of(request_id))


async def history(session: AsyncSession, principal: Principal, *, status: str | None = None,
                  site_id: uuid.UUID | None = None, equipment_id: uuid.UUID | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Requests matching the filters, newest first; a customer only ever sees its own."""
    if principal.role is Role.CUSTOMER:
        customer_id = principal.customer_id
    elif principal.is_staff:
        customer_id = None
    else:
        return []
    return await RequestsRepository(session).search(customer_id=customer_id, status=status, site_id=site_id,
                                                    equipment_id=equipment_id, limit=limit)
