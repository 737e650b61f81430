"""Every query of the notify service."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t

STREAM_CHANNEL = "fieldline_notify_stream"


class NotifyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def push(self, stream: str, kind: str, payload: dict[str, Any], source_event_id: uuid.UUID) -> None:
        """Append to a live stream once per (stream, event, kind), and wake every replica's listeners."""
        result = await self.session.execute(
            pg_insert(t.stream_messages).values(stream=stream, kind=kind, payload=payload,
                                                source_event_id=source_event_id)
            .on_conflict_do_nothing().returning(t.stream_messages.c.id))
        if result.first() is not None:
            await self.session.execute(select(func.pg_notify(STREAM_CHANNEL, stream)))

    async def read_after(self, streams: list[str], after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.stream_messages.c.id, t.stream_messages.c.kind, t.stream_messages.c.payload)
            .where(t.stream_messages.c.stream.in_(streams), t.stream_messages.c.id > after_id)
            .order_by(t.stream_messages.c.id).limit(limit))
        return [dict(r._mapping) for r in rows]
