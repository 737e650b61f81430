"""Transactional outbox: events are rows written with the state change; a relay publishes them.

Rows are claimed with FOR UPDATE SKIP LOCKED in id order with no cursor, so a row whose transaction
commits late is picked up by the next poll instead of being skipped, and several relays can run at once.
A row is marked published only after the PubAck; a relay that dies in between republishes it with the
same Nats-Msg-Id, which the stream deduplicates and the idempotent consumers absorb.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import nats.js.errors
from nats.js import JetStreamContext
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events.envelope import Envelope, Event
from shared.messaging.tables import MessagingTables
from shared.metrics import process_metrics
from shared.observability import CORRELATION_HEADER, current_correlation_id
from shared.tracing import current_trace_context, trace_headers

log = logging.getLogger(__name__)


def envelope_for(
    event: Event,
    *,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    """The envelope an event travels in; the correlation id defaults to the current request's or message's."""
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        type=event.subject,
        occurred_at=occurred_at,
        correlation_id=correlation_id or current_correlation_id(),
        data=event.model_dump(mode="json"),
    )


@dataclass(frozen=True)
class OutboxRow:
    """One outbox row as written: for statements that write the rows themselves (e.g. inside a CTE)."""

    event_id: uuid.UUID
    subject: str
    payload: str  # the envelope as JSON text
    trace_context: str | None = None  # the writer's W3C trace context as JSON text (shared/tracing.py), or None

    def values(self) -> dict[str, object]:
        return {
            "event_id": self.event_id,
            "subject": self.subject,
            "payload": json.loads(self.payload),
            "trace_context": json.loads(self.trace_context) if self.trace_context else None,
        }


def outbox_row(
    event: Event,
    *,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
    correlation_id: str | None = None,
) -> OutboxRow:
    """The row `add_events` writes for ``event``, for a statement that writes outbox rows itself
    (call `mark_outbox_written` on its session). It keeps the current trace context for the relay."""
    envelope = envelope_for(event, occurred_at=occurred_at, event_id=event_id, correlation_id=correlation_id)
    trace_context = current_trace_context()
    return OutboxRow(
        envelope.event_id,
        event.subject,
        envelope.model_dump_json(),
        json.dumps(trace_context, separators=(",", ":")) if trace_context else None,
    )


def mark_outbox_written(session: AsyncSession) -> None:
    """Wake the relay after this session commits (for code that writes outbox rows with its own SQL)."""
    session.info["outbox_dirty"] = True


async def add_events(
    session: AsyncSession,
    tables: MessagingTables,
    events: Sequence[Event],
    *,
    occurred_at: datetime,
    correlation_id: str | None = None,
) -> list[uuid.UUID]:
    """Write ``events`` to the outbox inside the caller's transaction, in order, in one statement.

    The one outbox writer of every service; ``occurred_at`` comes from the service's clock."""
    rows = [outbox_row(event, occurred_at=occurred_at, correlation_id=correlation_id) for event in events]
    if rows:
        await session.execute(insert(tables.outbox), [row.values() for row in rows])
        mark_outbox_written(session)
    return [row.event_id for row in rows]


async def add_event(
    session: AsyncSession,
    tables: MessagingTables,
    event: Event,
    *,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
    correlation_id: str | None = None,
) -> uuid.UUID:
    """Write one event to the outbox inside the caller's transaction (`add_events` for several)."""
    row = outbox_row(event, occurred_at=occurred_at, event_id=event_id, correlation_id=correlation_id)
    await session.execute(insert(tables.outbox).values(**row.values()))
    mark_outbox_written(session)
    return row.event_id


class OutboxRelay:
    """Publishes unpublished outbox rows. Woken after local commits; polls for everything else."""

    def __init__(
        self,
        db: Database,
        tables: MessagingTables,
        js: JetStreamContext,
        *,
        batch_size: int = 100,
        poll_interval_s: float = 0.25,
        publish_timeout_s: float = 5.0,
        after_publish: Callable[[uuid.UUID], None] | None = None,
        on_missing_stream: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.tables = tables
        self.js = js
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.publish_timeout_s = publish_timeout_s
        self._after_publish = after_publish  # a seam for fault-injection tests
        self._on_missing_stream = on_missing_stream
        self._wake = asyncio.Event()
        db.on_outbox_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def publish_batch(self) -> tuple[int, bool]:
        """Publish one batch; returns how many rows were marked published and whether the batch was full."""
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.event_id, outbox.c.subject, outbox.c.payload, outbox.c.trace_context)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            published: list[int] = []
            for row in rows:
                try:
                    await self.js.publish(
                        row.subject,
                        json.dumps(row.payload, separators=(",", ":")).encode(),
                        timeout=self.publish_timeout_s,
                        headers=_headers(row.event_id, row.payload, row.trace_context),
                    )
                except nats.js.errors.NoStreamResponseError as exc:
                    # the broker lost its store (or the stream was deleted): declare it again, retry next poll
                    log.warning("no stream for %s (%s); declaring it again", row.subject, exc)
                    if self._on_missing_stream is not None:
                        await self._on_missing_stream()
                    break
                except Exception as exc:  # broker down or slow: keep the row, retry on the next poll
                    log.warning("outbox publish of %s failed: %s", row.event_id, exc)
                    await session.execute(
                        update(outbox)
                        .where(outbox.c.id == row.id)
                        .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:500])
                    )
                    break
                if self._after_publish is not None:
                    self._after_publish(row.event_id)
                published.append(row.id)
                process_metrics().events_published.labels(row.subject).inc()
            if published:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(published))
                    .values(published_at=func.now(), attempts=outbox.c.attempts + 1)
                )
            complete = len(published) == len(rows)
            return len(published), complete and len(rows) == self.batch_size

    async def run(self) -> None:
        """Until cancelled: publish while there is work, then sleep until woken or the poll interval."""
        while True:
            timeout = self.poll_interval_s
            try:
                _, more = await self.publish_batch()
                if more:
                    continue  # a full batch went out: there may be more right now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay iteration failed")
                timeout = max(self.poll_interval_s, 1.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass
            self._wake.clear()


def _headers(
    event_id: uuid.UUID, payload: Mapping[str, object], trace_context: Mapping[str, object] | None
) -> dict[str, str]:
    """Nats-Msg-Id (deduplication), the correlation id, and the writer's `traceparent`/`tracestate`."""
    headers = {"Nats-Msg-Id": str(event_id), **trace_headers(trace_context)}
    correlation_id = payload.get("correlation_id")
    if isinstance(correlation_id, str):
        headers[CORRELATION_HEADER] = correlation_id
    return headers
