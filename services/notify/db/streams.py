"""Live streams' messages: appended per (stream, event, kind), read in id order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.routing import StreamPush
from shared.listen import StreamMessage

STREAM_CHANNEL = "fieldline_notify_stream"


class StreamRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def push(self, stream: str, kind: str, payload: dict[str, Any], source_event_id: uuid.UUID) -> None:
        await self.push_all([StreamPush(stream, kind, payload)], source_event_id)

    async def push_all(self, pushes: Sequence[StreamPush], source_event_id: uuid.UUID) -> None:
        """Append to live streams once per (stream, event, kind), and wake every replica's listeners.

        Each stream is locked until commit before its rows get ids, so ids commit in order per stream
        (a reader never passes an id whose row commits later); locks are taken in one global order.
        """
        streams = sorted({p.stream for p in pushes})
        for stream in streams:
            await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext("stream:" + stream))))
        woken: set[str] = set()
        for p in pushes:
            result = await self.session.execute(
                pg_insert(t.stream_messages)
                .values(stream=p.stream, kind=p.kind, payload=p.payload, source_event_id=source_event_id)
                .on_conflict_do_nothing()
                .returning(t.stream_messages.c.id)
            )
            if result.first() is not None and p.stream not in woken:
                woken.add(p.stream)
                await self.session.execute(select(func.pg_notify(STREAM_CHANNEL, p.stream)))

    async def prune(self, older_than: timedelta, limit: int = 5000) -> int:
        """Deletes up to ``limit`` of the oldest messages written more than ``older_than`` ago (on the database's
        clock, which wrote created_at); answers how many. A client resuming from before them gets what is left, and
        the clients reload their whole view on every (re)connect anyway."""
        m = t.stream_messages
        oldest = select(m.c.id).where(m.c.created_at < func.now() - older_than).order_by(m.c.created_at).limit(limit)
        result = await self.session.execute(delete(m).where(m.c.id.in_(oldest)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def last_id(self) -> int:
        """The newest message's id of any stream (0: none yet). A message of any stream written later gets a larger
        one; one being written now may get a smaller, but the change it tells of is committed before it is."""
        return int(await self.session.scalar(select(func.coalesce(func.max(t.stream_messages.c.id), 0))) or 0)

    async def read_after(self, streams: list[str], after_id: int, limit: int = 100) -> list[StreamMessage]:
        m = t.stream_messages
        rows = await self.session.execute(
            select(m.c.id, m.c.kind, m.c.payload)
            .where(m.c.stream.in_(streams), m.c.id > after_id)
            .order_by(m.c.id)
            .limit(limit)
        )
        return [StreamMessage(id, kind, payload) for id, kind, payload in rows]
