"""A request's timeline: append-only, once per source event and status; the live stream reads it by cursor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t
from services.requests.domain.records import TimelineRecord
from shared.db import record

# NOTIFY channel woken with a request id whenever that request's timeline grows (payload: the id)
TIMELINE_CHANNEL = "requests_timeline"


class TimelineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        request_id: uuid.UUID,
        status: str,
        at: datetime,
        source_event_id: uuid.UUID | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append to the timeline (once per source event and status) and wake the request's live streams."""
        await self.session.execute(
            pg_insert(t.request_timeline)
            .values(request_id=request_id, status=status, at=at, source_event_id=source_event_id, detail=detail or {})
            .on_conflict_do_nothing(
                index_elements=["request_id", "source_event_id", "status"],
                index_where=text("source_event_id IS NOT NULL"),
            )
        )
        # delivered at commit, to every replica's listener
        await self.session.execute(select(func.pg_notify(TIMELINE_CHANNEL, str(request_id))))

    async def entries(self, request_id: uuid.UUID, *, after_id: int = 0) -> list[TimelineRecord]:
        c = t.request_timeline.c
        query = select(c.id, c.status, c.at, c.detail).where(c.request_id == request_id)
        if after_id:
            # a live stream reads in insertion order from its cursor
            query = query.where(c.id > after_id).order_by(c.id)
        else:
            query = query.order_by(c.at, c.id)
        return [record(TimelineRecord, r) for r in await self.session.execute(query)]
