"""PostgreSQL LISTEN/NOTIFY fanned out to the coroutines of one replica that wait on a key.

Rows are the truth and NOTIFY only wakes: a writer sends `pg_notify(channel, key)` in the transaction
that writes the rows, each replica keeps one listening connection, and every waiter re-reads its rows
when woken (or at its own timeout), so a lost notification costs latency, never data.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


def _payload_is_key(payload: str) -> str:
    return payload


class NotificationHub:
    """One LISTEN connection per replica; `channels` maps each channel to the waiter key of a payload."""

    def __init__(self, dsn: str, channels: Mapping[str, Callable[[str], str] | None]) -> None:
        self.dsn = dsn.replace("postgresql+asyncpg://", "postgresql://")
        self._key_of = {channel: key_of or _payload_is_key for channel, key_of in channels.items()}
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def wake(self, key: str) -> None:
        for waiter in self._waiters.get(key, ()):
            waiter.set()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        self.wake(self._key_of[channel](payload))

    async def run(self) -> None:
        """Listen until cancelled; reconnect after losing the connection."""
        while True:
            try:
                conn = await asyncpg.connect(self.dsn)
                try:
                    for channel in self._key_of:
                        await conn.add_listener(channel, self._on_notify)
                    # whatever was notified while nobody listened is read now
                    for key in list(self._waiters):
                        self.wake(key)
                    while not conn.is_closed():
                        await asyncio.sleep(5)
                        await conn.execute("SELECT 1")
                finally:
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listener on %s lost (%r); reconnecting", ", ".join(self._key_of), exc)
                await asyncio.sleep(1)

    @asynccontextmanager
    async def waiter(self, keys: Iterable[str]) -> AsyncIterator[asyncio.Event]:
        """An event set whenever any of `keys` is notified; clear it before re-reading."""
        event = asyncio.Event()
        keys = list(keys)
        for key in keys:
            self._waiters[key].add(event)
        try:
            yield event
        finally:
            for key in keys:
                self._waiters[key].discard(event)


@asynccontextmanager
async def listening(hub: NotificationHub) -> AsyncIterator[NotificationHub]:
    """Run the hub's listener for the duration of the block (a service's lifespan)."""
    task = asyncio.create_task(hub.run(), name="pg-listen")
    try:
        yield hub
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@dataclass(frozen=True)
class StreamMessage:
    """One SSE message read from a table: its row id (the SSE id), event name and JSON data."""

    id: int
    event: str
    data: Any


async def sse_frames(
    hub: NotificationHub,
    keys: Iterable[str],
    read_after: Callable[[int], Awaitable[list[StreamMessage]]],
    last_event_id: int | None,
    keepalive_s: float,
    page_size: int | None = None,
    end: Callable[[], Awaitable[int]] | None = None,
) -> AsyncIterator[str]:
    """SSE frames: every message after `last_event_id`, then new ones as NOTIFY wakes us, with keepalives.

    `read_after(cursor)` reads the rows after `cursor` in id order; a full page is followed at once. With no
    `last_event_id`, `end()` says where the messages end now: only later ones are sent, and the first frame carries
    that id (a client's Last-Event-ID for a reconnect). Without `end`, none means from the start.
    """
    async with hub.waiter(keys) as wake:  # listening before the end is read: nothing after it is missed
        if last_event_id is None and end is not None:
            cursor = await end()
            yield f"retry: 2000\nid: {cursor}\n\n"
        else:
            cursor = last_event_id or 0
            yield "retry: 2000\n\n"
        while True:
            wake.clear()
            messages = await read_after(cursor)
            for message in messages:
                cursor = message.id
                yield f"id: {message.id}\nevent: {message.event}\ndata: {json.dumps(message.data, default=str)}\n\n"
            if page_size is not None and len(messages) == page_size:
                continue
            try:
                await asyncio.wait_for(wake.wait(), timeout=keepalive_s)
            except TimeoutError:
                yield ": keepalive\n\n"
