"""Live streams over SSE: messages are rows, a LISTEN connection wakes the waiting clients of each replica."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.repository import STREAM_CHANNEL, NotifyRepository
from services.notify.domain.audience import DISPATCHERS, customer_stream, technician_stream
from shared.db import Database
from shared.events.dispatch import AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.envelope import Envelope, Event
from shared.messaging import Subscription
from shared.service import Runtime

log = logging.getLogger(__name__)


class StreamHub:
    """Per-replica fan-out of PostgreSQL notifications to the SSE clients waiting on a stream."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, stream: str) -> None:
        for waiter in self._waiters.get(stream, ()):
            waiter.set()

    async def run(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.add_listener(STREAM_CHANNEL, self._on_notify)
                    while not conn.is_closed():
                        await asyncio.sleep(5)
                        await conn.execute("SELECT 1")
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("stream listener lost (%r); reconnecting", exc)
                await asyncio.sleep(1)

    @asynccontextmanager
    async def waiter(self, streams: list[str]) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        for s in streams:
            self._waiters[s].add(event)
        try:
            yield event
        finally:
            for s in streams:
                self._waiters[s].discard(event)


async def sse_messages(db: Database, hub: StreamHub, streams: list[str], last_event_id: int,
                       keepalive_s: float) -> AsyncIterator[str]:
    """SSE frames: everything after `last_event_id`, then new messages as they arrive."""
    cursor = last_event_id
    async with hub.waiter(streams) as wake:
        yield "retry: 2000\n\n"
        while True:
            wake.clear()
            async with db.transaction() as session:
                rows = await NotifyRepository(session).read_after(streams, cursor)
            for row in rows:
                cursor = row["id"]
                yield f"id: {row['id']}\nevent: {row['kind']}\ndata: {json.dumps(row['payload'])}\n\n"
            if len(rows) == 100:
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield ": keepalive\n\n"


# --- what goes onto the streams --------------------------------------------------------------------------

async def on_assignment_created(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentCreated)
    repo = NotifyRepository(session)
    payload = event.model_dump(mode="json")
    await repo.push(technician_stream(event.technician_id), "assignment.created", payload, envelope.event_id)
    customer_view = {k: payload[k] for k in ("request_id", "technician_first_name", "eta", "status")}
    await repo.push(customer_stream(event.customer_id), "request.assigned", customer_view, envelope.event_id)
    await repo.push(DISPATCHERS, "assignment.created", payload, envelope.event_id)


async def on_assignment_status_changed(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentStatusChanged)
    repo = NotifyRepository(session)
    payload = event.model_dump(mode="json")
    await repo.push(technician_stream(event.technician_id), "assignment.status_changed", payload, envelope.event_id)
    customer_view = {k: payload[k] for k in ("request_id", "status", "at", "eta")}
    await repo.push(customer_stream(event.customer_id), "request.status_changed", customer_view, envelope.event_id)
    await repo.push(DISPATCHERS, "assignment.status_changed", payload, envelope.event_id)


async def on_unplaceable(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, RequestUnplaceable)
    await NotifyRepository(session).push(DISPATCHERS, "request.unplaceable", event.model_dump(mode="json"),
                                         envelope.event_id)


def subscriptions() -> list[Subscription]:
    return [
        Subscription("notify-assignment-created", "dispatch", AssignmentCreated.subject, on_assignment_created),
        Subscription("notify-assignment-status", "dispatch", AssignmentStatusChanged.subject,
                     on_assignment_status_changed),
        Subscription("notify-unplaceable", "dispatch", RequestUnplaceable.subject, on_unplaceable),
    ]


@asynccontextmanager
async def stream_hub(runtime: Runtime) -> AsyncIterator[None]:
    hub = StreamHub(runtime.settings.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    runtime.extras["hub"] = hub
    task = asyncio.create_task(hub.run(), name="stream-hub")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def streams_for(role: str, customer_id: uuid.UUID | None, technician_id: uuid.UUID | None) -> list[str]:
    if role == "technician" and technician_id:
        return [technician_stream(technician_id)]
    if role == "customer" and customer_id:
        return [customer_stream(customer_id)]
    return [DISPATCHERS]
