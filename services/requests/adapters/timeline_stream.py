"""A request's live stream over SSE: the timeline rows are the messages, PostgreSQL NOTIFY the wake-up.

Any replica can serve any client: the row is written (and NOTIFY sent) in the transaction that changes
the request, every replica LISTENs, and a client reconnecting with Last-Event-ID resumes from its cursor.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from services.requests.db.requests import RequestsRepository
from services.requests.db.timeline import TIMELINE_CHANNEL, TimelineRepository
from services.requests.domain.records import ServiceRequestRecord, TimelineRecord
from shared.db import Database
from shared.listen import NotificationHub, StreamMessage, listening, sse_frames
from shared.service import Runtime
from shared.timestamps import utc_z

log = logging.getLogger(__name__)


def timeline_events(
    db: Database,
    hub: NotificationHub,
    request_id: uuid.UUID,
    last_event_id: int,
    keepalive_s: float,
    snapshot: Callable[[ServiceRequestRecord], dict[str, Any]],
    shown: Callable[[TimelineRecord], tuple[str, dict[str, Any]]] | None = None,
) -> AsyncIterator[str]:
    """SSE frames: each timeline entry after `last_event_id` with the request's tracking fields at that moment.

    `shown` gives the event name and detail a reader may see of an entry (a customer's allow-list); by default
    the entry as stored.
    """

    def as_stored(entry: TimelineRecord) -> tuple[str, dict[str, Any]]:
        return entry.status, entry.detail

    show = shown or as_stored

    async def read_after(cursor: int) -> list[StreamMessage]:
        async with db.transaction() as session:
            entries = await TimelineRepository(session).entries(request_id, after_id=cursor)
            request = await RequestsRepository(session).get(request_id) if entries else None
        messages = []
        for entry in entries:
            event, detail = show(entry)
            data = {"status": event, "at": utc_z(entry.at), "detail": detail}
            messages.append(StreamMessage(entry.id, event, data | {"request": snapshot(request) if request else None}))
        return messages

    return sse_frames(hub, [str(request_id)], read_after, last_event_id, keepalive_s)


@asynccontextmanager
async def timeline_hub(runtime: Runtime) -> AsyncIterator[None]:
    """Timeline writers notify the request's id on TIMELINE_CHANNEL."""
    async with listening(NotificationHub(runtime.settings.database_url, {TIMELINE_CHANNEL: None})) as hub:
        runtime.extras["timeline_hub"] = hub
        yield
