"""Following a live stream over SSE: messages are rows; the stream hub wakes the waiting clients of each replica."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.streams import StreamRepository
from shared.db import Database
from shared.listen import NotificationHub, StreamMessage, sse_frames

_PAGE = 100  # rows per read; a full page means more may be waiting


async def messages_after(
    session: AsyncSession, streams: list[str], cursor: int, limit: int = _PAGE
) -> list[StreamMessage]:
    return await StreamRepository(session).read_after(streams, cursor, limit)


async def prune_streams(db: Database, older_than: timedelta, page: int = 5000) -> int:
    """Drops stream messages past the retention, a page per short transaction (any replica may run it at once:
    each delete takes what is still there). Answers how many went."""
    pruned = 0
    while True:
        async with db.transaction() as session:
            deleted = await StreamRepository(session).prune(older_than, page)
        pruned += deleted
        if deleted < page:
            return pruned


@dataclass(frozen=True)
class LiveStreams:
    """Each page is read in its own short transaction: a client that listens for hours holds no connection."""

    db: Database
    hub: NotificationHub
    keepalive_s: float

    def follow(self, streams: list[str], last_event_id: int | None) -> AsyncIterator[str]:
        """SSE frames: everything after `last_event_id`, then new messages as they arrive; with none, only what
        arrives from now on (the first frame names where that is, for a reconnect to resume after)."""

        async def read_after(cursor: int) -> list[StreamMessage]:
            async with self.db.transaction() as session:
                return await messages_after(session, streams, cursor)

        async def end() -> int:
            async with self.db.transaction() as session:
                return await StreamRepository(session).last_id()

        return sse_frames(self.hub, streams, read_after, last_event_id, self.keepalive_s, page_size=_PAGE, end=end)
