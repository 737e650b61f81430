"""Live streams over SSE: messages are rows, a LISTEN connection wakes the waiting clients of each replica."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.notify.db.repository import DELIVERY_CHANNEL, STREAM_CHANNEL, NotifyRepository
from services.notify.domain.audience import CONTRACT_MANAGERS, DISPATCHERS, customer_stream, technician_stream
from shared.db import Database
from shared.listen import NotificationHub, StreamMessage, listening, sse_frames
from shared.service import Runtime

log = logging.getLogger(__name__)

_PAGE = 100  # rows per read; a full page means more may be waiting

DELIVERY_WAKE = "@deliveries"  # the hub key that the delivery channel wakes (stream names have no '@')


def stream_hub_for(dsn: str) -> NotificationHub:
    """Stream writers notify the stream's name; the delivery queue wakes its senders."""
    return NotificationHub(dsn, {STREAM_CHANNEL: None, DELIVERY_CHANNEL: lambda _payload: DELIVERY_WAKE})


def sse_messages(db: Database, hub: NotificationHub, streams: list[str], last_event_id: int,
                 keepalive_s: float) -> AsyncIterator[str]:
    """SSE frames: everything after `last_event_id`, then new messages as they arrive."""

    async def read_after(cursor: int) -> list[StreamMessage]:
        async with db.transaction() as session:
            rows = await NotifyRepository(session).read_after(streams, cursor, _PAGE)
        return [StreamMessage(row["id"], row["kind"], row["payload"]) for row in rows]

    return sse_frames(hub, streams, read_after, last_event_id, keepalive_s, page_size=_PAGE)


@asynccontextmanager
async def stream_hub(runtime: Runtime) -> AsyncIterator[None]:
    async with listening(stream_hub_for(runtime.settings.database_url)) as hub:
        runtime.extras["hub"] = hub
        yield


def streams_for(role: str, customer_id: uuid.UUID | None, technician_id: uuid.UUID | None) -> list[str]:
    """One stream per caller (ids are ordered within a stream, which is what makes resuming gap-free)."""
    if role == "technician" and technician_id:
        return [technician_stream(technician_id)]
    if role == "customer" and customer_id:
        return [customer_stream(customer_id)]
    if role == "contract_manager":
        return [CONTRACT_MANAGERS]
    return [DISPATCHERS]
