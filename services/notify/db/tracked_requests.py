"""What notify remembers about requests: their kind and priority, the ETA promised, whether cancelled."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.delivery import TrackedRequest
from shared.db import record


class TrackedFacts(TypedDict, total=False):
    kind: str | None
    priority: str | None
    promised_eta: datetime
    cancelled: bool


class TrackedRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, request_id: uuid.UUID) -> TrackedRequest | None:
        """The request, locked until commit (notices of one request are worded one after another)."""
        row = (
            await self.session.execute(
                select(t.tracked_requests).where(t.tracked_requests.c.request_id == request_id).with_for_update()
            )
        ).first()
        return record(TrackedRequest, row) if row else None

    async def track(self, request_id: uuid.UUID, customer_id: uuid.UUID, facts: TrackedFacts, now: datetime) -> None:
        """Remember the facts given; the others stay as they were."""
        values = {**facts, "updated_at": now}
        await self.session.execute(
            pg_insert(t.tracked_requests)
            .values(request_id=request_id, customer_id=customer_id, **values)
            .on_conflict_do_update(index_elements=["request_id"], set_=values)
        )
