"""Idempotent JetStream consumers: durable pull subscriptions, fetched in batches, supervised.

Per message: a processed-messages row is written in the handler's own transaction, so a redelivered
message is a no-op; the message is acked only after that commit. Transient failures are nak'ed with
back-off; a message that fails its schema, raises PermanentMessageError, or reaches MaxDeliver goes to
the dead-letter table with the reason, and the consumer keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats.errors
import nats.js.errors
import pydantic
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import Clock, SystemClock
from shared.db import Database, database_unreachable, error_without_values
from shared.errors import PermanentMessageError
from shared.events.dead_letters import DEAD_LETTER_EVENTS
from shared.events.envelope import Envelope, Event, stream_name
from shared.events.registry import UnknownEventType, parse_data
from shared.messaging.outbox import add_event
from shared.messaging.tables import MessagingTables
from shared.metrics import process_metrics
from shared.observability import set_correlation_id
from shared.tracing import trace_context_of

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope, Event], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """One durable consumer: `durable` is `<consumer>-<purpose>`, `subject` a filter inside `producer`'s stream."""

    durable: str
    producer: str
    subject: str
    handler: Handler


def backoff_delay(num_delivered: int, *, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Exponential back-off with full jitter for the next redelivery."""
    doublings = max(num_delivered - 1, 0)
    ceiling = cap_s if doublings >= 64 else min(cap_s, base_s * 2**doublings)  # 2**1024 overflows a float
    return float(random.uniform(0, ceiling))


class StreamMissing(RuntimeError):
    """The producer has not declared its stream yet (or the broker lost it and the producer has not re-declared)."""


class IdempotentConsumer:
    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        db: Database,
        tables: MessagingTables,
        subscription: Subscription,
        *,
        batch_size: int = 100,
        max_deliver: int = 6,
        ack_wait_s: float = 30.0,
        fetch_timeout_s: float = 1.0,
        idle_check_s: float = 15.0,
        service_producer: str | None = None,
        clock: Clock | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.tracer = tracer  # None: tracing off, no span at all
        self.service_producer = service_producer  # announces dead letters on this service's stream
        self.nc = nc
        self.js = js
        self.db = db
        self.tables = tables
        self.sub = subscription
        self.batch_size = batch_size
        self.max_deliver = max_deliver
        self.ack_wait_s = ack_wait_s
        self.fetch_timeout_s = fetch_timeout_s
        self.idle_check_s = idle_check_s
        self.before_ack: Callable[[Msg], Awaitable[None]] | None = None  # a seam for fault-injection tests
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Graceful stop: fetch no more, finish the message in hand, hand the rest of its batch back (nak),
        then `run` returns. Cancelling `run` instead abandons the message in hand to redelivery."""
        self._stopping.set()

    @property
    def stream(self) -> str:
        return stream_name(self.sub.producer)

    async def ensure(self) -> None:
        config = ConsumerConfig(
            durable_name=self.sub.durable,
            filter_subject=self.sub.subject,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            # the server never gives up on its own: we dead-letter at max_deliver, and a message whose
            # dead-letter write fails (database down) is redelivered until that write succeeds
            max_deliver=-1,
            max_ack_pending=10_000,
        )
        try:
            await self.js.add_consumer(self.stream, config)
        except nats.js.errors.NotFoundError as exc:
            # only the producer declares its stream (its NATS user may create nothing else): `run` retries
            raise StreamMissing(f"stream {self.stream} does not exist yet; waiting for {self.sub.producer}") from exc
        except nats.js.errors.BadRequestError as exc:
            # an older server refuses to change an existing durable's config: keep using the durable
            await self.js.consumer_info(self.stream, self.sub.durable)
            log.warning("consumer %s exists with another config (%s); using it as is", self.sub.durable, exc)

    async def run(self) -> None:
        """Fetch and handle until stopped or cancelled; re-subscribe after errors or a suspicious silence."""
        while not self._stopping.is_set():
            psub: JetStreamContext.PullSubscription | None = None
            try:
                await self.ensure()
                psub = await self.js.pull_subscribe_bind(durable=self.sub.durable, stream=self.stream)
                await self._fetch_loop(psub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s restarting after: %r", self.sub.durable, exc)
                await asyncio.sleep(1.0)
            finally:
                if psub is not None:
                    # bounded: after a timed-out fetch nats-py can hang here (see PITFALLS); never block shutdown
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(psub.unsubscribe(), timeout=2.0)

    async def _fetch_loop(self, psub: JetStreamContext.PullSubscription) -> None:
        idle = 0.0
        while not self._stopping.is_set():
            try:
                batch = await psub.fetch(self.batch_size, timeout=self.fetch_timeout_s)
            except (nats.errors.TimeoutError, TimeoutError):
                batch = []
            if not batch:
                idle += self.fetch_timeout_s
                if idle >= self.idle_check_s:
                    idle = 0.0
                    info = await self.js.consumer_info(self.stream, self.sub.durable)
                    if info.num_pending or info.num_ack_pending:
                        # messages are waiting but none arrive: the subscription went deaf (nats.py #504)
                        log.warning(
                            "consumer %s silent with %s pending; re-subscribing", self.sub.durable, info.num_pending
                        )
                        return
                if not self.nc.is_connected:
                    await asyncio.sleep(0.2)
                continue
            idle = 0.0
            await self._handle_batch(batch)

    async def _handle_batch(self, batch: list[Msg]) -> None:
        """Handle in order while the rest of the batch is reported in progress, so that ack_wait counts from
        each message's turn, not from the fetch: otherwise a long batch is redelivered before it is reached."""
        waiting = list(batch)
        keep_alive = asyncio.create_task(self._keep_in_progress(waiting))
        try:
            for msg in batch:
                if self._stopping.is_set():
                    await self._hand_back(waiting)
                    return
                waiting.remove(msg)
                await self.handle(msg)
        finally:
            keep_alive.cancel()
            await asyncio.gather(keep_alive, return_exceptions=True)

    async def _hand_back(self, waiting: list[Msg]) -> None:
        """Unhandled messages of a stopping consumer go back at once (another replica takes them)."""
        for msg in list(waiting):
            with contextlib.suppress(Exception):  # disconnected: ack_wait returns them anyway
                await msg.nak()
        waiting.clear()

    async def _keep_in_progress(self, waiting: list[Msg]) -> None:
        while True:
            await asyncio.sleep(self.ack_wait_s / 3)
            try:
                for msg in list(waiting):
                    await msg.in_progress()
            except Exception as exc:  # disconnected: the server will redeliver, and redelivery is harmless
                log.debug("in-progress report for %s failed: %r", self.sub.durable, exc)

    async def handle(self, msg: Msg) -> None:
        """One message, inside a `process <subject>` span that continues the trace its headers carry (what the
        handler writes to the outbox carries it on)."""
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        process_metrics().consumer_delivery(self.sub.durable, msg.subject, deliveries)
        if self.tracer is None:
            await self._handle(msg, deliveries, trace.INVALID_SPAN)
            return
        with self.tracer.start_as_current_span(
            f"process {msg.subject}",
            context=trace_context_of(msg.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": msg.subject,
                "messaging.consumer.group.name": self.sub.durable,
                "messaging.message.id": (msg.headers or {}).get("Nats-Msg-Id", ""),
                "messaging.nats.delivery_count": deliveries,
            },
        ) as span:
            await self._handle(msg, deliveries, span)

    async def _handle(self, msg: Msg, deliveries: int, span: Span) -> None:
        try:
            envelope = Envelope.model_validate_json(msg.data)
            if envelope.type != msg.subject:
                # the subject is what the broker's permissions vouch for: a type naming another event is forged
                raise ValueError(f"type {envelope.type!r} does not match subject {msg.subject!r}")
            event = parse_data(envelope)
        except (pydantic.ValidationError, UnknownEventType, ValueError) as exc:
            span.set_status(Status(StatusCode.ERROR, "dead-lettered: schema"))
            await self._dead_letter(msg, f"schema: {exc}", deliveries, event_id=None)
            return
        set_correlation_id(envelope.correlation_id)
        try:
            async with self.db.transaction() as session:
                inserted = await session.execute(
                    pg_insert(self.tables.processed_messages)
                    .values(consumer=self.sub.durable, event_id=envelope.event_id)
                    .on_conflict_do_nothing()
                    .returning(self.tables.processed_messages.c.event_id)
                )
                if inserted.first() is not None:
                    await self.sub.handler(session, envelope, event)
        except PermanentMessageError as exc:
            span.set_status(Status(StatusCode.ERROR, "dead-lettered: rejected"))
            await self._dead_letter(msg, f"rejected: {exc}", deliveries, event_id=str(envelope.event_id))
            return
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            # a database that is down or restarting is no fault of the message: wait it out, never dead-letter
            if deliveries >= self.max_deliver and not database_unreachable(exc):
                await self._dead_letter(
                    msg,
                    f"max deliveries ({deliveries}) reached; last error: {error_without_values(exc) or repr(exc)}",
                    deliveries,
                    event_id=str(envelope.event_id),
                )
            else:
                said = error_without_values(exc) or repr(exc)
                log.warning("handler %s failed (delivery %s): %s", self.sub.durable, deliveries, said)
                await msg.nak(delay=backoff_delay(deliveries))
                process_metrics().consumer_outcome(self.sub.durable, msg.subject, "nak")
            return
        finally:
            set_correlation_id(None)
        if self.before_ack is not None:
            await self.before_ack(msg)
        await msg.ack()
        process_metrics().consumer_outcome(self.sub.durable, msg.subject, "ack")

    async def _dead_letter(self, msg: Msg, reason: str, deliveries: int, *, event_id: str | None) -> None:
        log.error("dead-lettering message on %s for %s: %s", msg.subject, self.sub.durable, reason)
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    insert(self.tables.dead_letters).values(
                        consumer=self.sub.durable,
                        subject=msg.subject,
                        event_id=event_id,
                        payload=msg.data.decode("utf-8", errors="replace"),
                        headers=dict(msg.headers or {}),
                        reason=reason[:2000],
                        deliveries=deliveries,
                        created_at=self.clock.now(),
                    )
                )
                if self.service_producer is not None:
                    await add_event(
                        session,
                        self.tables,
                        DEAD_LETTER_EVENTS[self.service_producer](
                            consumer=self.sub.durable,
                            message_subject=msg.subject,
                            event_id=event_id,
                            reason=reason[:500],
                            deliveries=deliveries,
                            recorded_at=self.clock.now(),
                        ),
                        occurred_at=self.clock.now(),
                    )
        except Exception as exc:
            # keep the message: it comes back and is dead-lettered once the database answers again
            log.warning("dead-letter write for %s failed (%r); redelivering", self.sub.durable, exc)
            await msg.nak(delay=backoff_delay(deliveries))
            return
        await msg.term()
        process_metrics().consumer_outcome(self.sub.durable, msg.subject, "dead_letter")
