"""A request's live stream over SSE: the timeline rows are the messages, PostgreSQL NOTIFY the wake-up.

Any replica can serve any client: the row is written (and NOTIFY sent) in the transaction that changes
the request, every replica LISTENs, and a client reconnecting with Last-Event-ID resumes from its cursor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from services.requests.db.repository import TIMELINE_CHANNEL, RequestsRepository
from shared.db import Database
from shared.service import Runtime

log = logging.getLogger(__name__)


class TimelineHub:
    """Per replica: one LISTEN connection, fanned out to the clients waiting on each request."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, request_id: str) -> None:
        for waiter in self._waiters.get(request_id, ()):
            waiter.set()

    async def run(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.add_listener(TIMELINE_CHANNEL, self._on_notify)
                    self._wake_all()  # anything committed while we were not listening
                    while not conn.is_closed():
                        await asyncio.sleep(5)
                        await conn.execute("SELECT 1")
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("timeline listener lost (%r); reconnecting", exc)
                await asyncio.sleep(1)

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()

    @asynccontextmanager
    async def waiter(self, request_id: uuid.UUID) -> AsyncIterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters[str(request_id)].add(event)
        try:
            yield event
        finally:
            self._waiters[str(request_id)].discard(event)


async def timeline_events(db: Database, hub: TimelineHub, request_id: uuid.UUID, last_event_id: int,
                          keepalive_s: float, snapshot: Callable[[dict[str, Any]], dict[str, Any]]
                          ) -> AsyncIterator[str]:
    """SSE frames: each timeline entry after `last_event_id` with the request's tracking fields at that moment."""
    cursor = last_event_id
    async with hub.waiter(request_id) as wake:
        yield "retry: 2000\n\n"
        while True:
            wake.clear()
            async with db.transaction() as session:
                repo = RequestsRepository(session)
                entries = await repo.timeline(request_id, after_id=cursor)
                request = await repo.get(request_id) if entries else None
            for entry in entries:
                cursor = entry["id"]
                data = {"status": entry["status"], "at": entry["at"].isoformat(), "detail": entry["detail"],
                        "request": snapshot(request) if request else None}
                yield f"id: {entry['id']}\nevent: {entry['status']}\ndata: {json.dumps(data, default=str)}\n\n"
            try:
                await asyncio.wait_for(wake.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield ": keepalive\n\n"


@asynccontextmanager
async def timeline_hub(runtime: Runtime) -> AsyncIterator[None]:
    hub = TimelineHub(runtime.settings.asyncpg_url.replace("postgresql+asyncpg://", "postgresql://"))
    runtime.extras["timeline_hub"] = hub
    task = asyncio.create_task(hub.run(), name="timeline-hub")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
