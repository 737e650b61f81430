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

from services.notify.db.repository import DELIVERY_CHANNEL, STREAM_CHANNEL, NotifyRepository
from services.notify.domain.audience import CONTRACT_MANAGERS, DISPATCHERS, customer_stream, technician_stream
from shared.db import Database
from shared.service import Runtime

log = logging.getLogger(__name__)

DELIVERY_WAKE = "@deliveries"  # the hub key that the delivery channel wakes (stream names have no '@')


class StreamHub:
    """Per-replica fan-out of PostgreSQL notifications: to SSE clients per stream, and to the delivery worker."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def _wake(self, key: str) -> None:
        for waiter in self._waiters.get(key, ()):
            waiter.set()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self._wake(DELIVERY_WAKE if channel == DELIVERY_CHANNEL else payload)

    async def run(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.add_listener(STREAM_CHANNEL, self._on_notify)
                    await conn.add_listener(DELIVERY_CHANNEL, self._on_notify)
                    # wake everyone once: whatever was notified while we were not listening is read now
                    for key in list(self._waiters):
                        self._wake(key)
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
    async def waiter(self, keys: list[str]) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        for key in keys:
            self._waiters[key].add(event)
        try:
            yield event
        finally:
            for key in keys:
                self._waiters[key].discard(event)


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
    """One stream per caller (ids are ordered within a stream, which is what makes resuming gap-free)."""
    if role == "technician" and technician_id:
        return [technician_stream(technician_id)]
    if role == "customer" and customer_id:
        return [customer_stream(customer_id)]
    if role == "contract_manager":
        return [CONTRACT_MANAGERS]
    return [DISPATCHERS]
