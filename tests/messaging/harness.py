"""A throw-away messaging schema with a non-idempotent effect table, and the NATS side of the tests.

The effect handler appends one row per call with no uniqueness at all, so the only thing standing between
a redelivery and a second effect row is the consumer's processed-messages insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from sqlalchemy import Column, DateTime, Identity, Integer, MetaData, Table, Uuid, func, select
from sqlalchemy import insert as sa_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateSchema, DropSchema

from shared.db import Database, create_engine, service_metadata
from shared.errors import PermanentMessageError
from shared.events.envelope import Envelope, Event, stream_name
from shared.events.requests import ServiceRequestCancelled
from shared.messaging import IdempotentConsumer, MessagingTables, OutboxRelay, Subscription, add_event, messaging_tables
from shared.messaging.connection import connect, ensure_stream
from shared.settings import ServiceSettings
from tests.support.clock import suite_now

PRODUCER = "requests"
SUBJECT = ServiceRequestCancelled.subject
DURABLE = "faulttest-effects"


def cancellation(reason: str = "") -> ServiceRequestCancelled:
    """The event every fault test ships: real, registered, and cheap to make unique."""
    return ServiceRequestCancelled(
        request_id=uuid.uuid4(), customer_id=uuid.uuid4(), cancelled_by="test", reason=reason
    )


async def wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 20.0, interval_s: float = 0.05
) -> None:
    """Poll `condition` until it holds; fail naming `what` at the deadline."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for: {what}")
        await asyncio.sleep(interval_s)


@dataclass
class MessagingSchema:
    """One test's own schema: outbox, processed_messages, dead_letters, and `effects`."""

    database_url: str
    schema: str
    tables: MessagingTables
    effects: Table
    db: Database

    def database(self, pool_size: int = 3) -> Database:
        """Another engine on the same schema, as a second replica would have."""
        return attach(self.database_url, self.schema, pool_size).db

    async def add_events(self, count: int, reason: str = "") -> list[uuid.UUID]:
        async with self.db.transaction() as session:
            return [
                await add_event(session, self.tables, cancellation(reason), occurred_at=suite_now())
                for _ in range(count)
            ]

    async def apply_effect(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        """The handler: one effect row per call; PermanentMessageError for events marked as poison."""
        assert isinstance(event, ServiceRequestCancelled)
        if event.reason == "poison":
            raise PermanentMessageError(f"request {event.request_id} can never be handled")
        await session.execute(sa_insert(self.effects).values(event_id=envelope.event_id))

    async def effect_counts(self) -> tuple[int, int]:
        """(effect rows, distinct events with an effect)."""
        async with self.db.transaction() as session:
            row = (
                await session.execute(
                    select(func.count(), func.count(self.effects.c.event_id.distinct())).select_from(self.effects)
                )
            ).one()
        return int(row[0]), int(row[1])

    async def effects_by_event(self) -> dict[uuid.UUID, int]:
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(self.effects.c.event_id, func.count()).group_by(self.effects.c.event_id)
            )
            return {r[0]: int(r[1]) for r in rows}

    async def unpublished(self) -> list[uuid.UUID]:
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            rows = await session.execute(
                select(outbox.c.event_id).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id)
            )
            return [r[0] for r in rows]

    async def claimable(self) -> int:
        """Unpublished rows no transaction holds (a relay's batch takes them with SKIP LOCKED)."""
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            free = select(outbox.c.id).where(outbox.c.published_at.is_(None)).with_for_update(skip_locked=True)
            return int((await session.execute(select(func.count()).select_from(free.subquery()))).scalar_one())

    async def publish_failures(self) -> int:
        """Rows the relay tried and failed to publish at least once."""
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            failed = await session.execute(select(func.count()).where(outbox.c.last_error.is_not(None)))
            return int(failed.scalar_one())

    async def outbox_ids(self, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        outbox = self.tables.outbox
        async with self.db.transaction() as session:
            rows = await session.execute(select(outbox.c.event_id, outbox.c.id).where(outbox.c.event_id.in_(event_ids)))
            return {r[0]: int(r[1]) for r in rows}

    async def dead_letters(self) -> list[dict[str, Any]]:
        dead = self.tables.dead_letters
        async with self.db.transaction() as session:
            return [dict(r._mapping) for r in await session.execute(select(dead).order_by(dead.c.id))]


def _schema_tables(schema: str) -> tuple[MetaData, MessagingTables, Table]:
    metadata = service_metadata(schema)
    effects = Table(
        "effects",
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False),  # deliberately not unique
        Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return metadata, messaging_tables(metadata), effects


def attach(database_url: str, schema: str, pool_size: int = 5) -> MessagingSchema:
    """The harness for an existing schema (another process attaches to the test's schema this way)."""
    _, tables, effects = _schema_tables(schema)
    db = Database(create_engine(ServiceSettings(database_url=database_url, db_schema=schema, db_pool_size=pool_size)))
    return MessagingSchema(database_url, schema, tables, effects, db)


@contextlib.asynccontextmanager
async def messaging_schema(database_url: str) -> AsyncIterator[MessagingSchema]:
    schema = f"faulttest_{uuid.uuid4().hex[:10]}"
    metadata, _, _ = _schema_tables(schema)
    harness = attach(database_url, schema)
    async with harness.db.engine.begin() as conn:
        await conn.execute(CreateSchema(schema))
        await conn.run_sync(metadata.create_all)
    try:
        yield harness
    finally:
        async with harness.db.engine.begin() as conn:
            await conn.execute(DropSchema(schema, cascade=True))
        await harness.db.dispose()


@dataclass
class Broker:
    """A client on a private nats-server with the producer's stream declared."""

    nc: Client
    js: JetStreamContext

    async def stream_messages(self) -> int:
        return int((await self.js.stream_info(stream_name(PRODUCER))).state.messages)

    async def consumer_info(self, durable: str = DURABLE) -> ConsumerInfo:
        return await self.js.consumer_info(stream_name(PRODUCER), durable)

    async def consumer_drained(self, durable: str = DURABLE) -> bool:
        """Nothing waiting, nothing delivered-but-unacknowledged, and the ack floor at the stream's last message.

        The last condition matters: right after a durable is created its pending counts can read zero for a
        moment on a loaded machine, which alone would pass for "drained" before anything was handled."""
        try:
            info = await self.consumer_info(durable)
            last = (await self.js.stream_info(stream_name(PRODUCER))).state.last_seq
        except Exception:
            return False
        return info.num_pending == 0 and info.num_ack_pending == 0 and info.ack_floor.stream_seq >= last


@contextlib.asynccontextmanager
async def broker_client(url: str, *, duplicate_window_s: float = 600.0) -> AsyncIterator[Broker]:
    nc = await connect(url, name="faulttest")
    js = nc.jetstream()
    await ensure_stream(js, PRODUCER, duplicate_window_s=duplicate_window_s)
    try:
        yield Broker(nc, js)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def effect_consumer(
    harness: MessagingSchema,
    broker: Broker,
    *,
    db: Database | None = None,
    handler: Callable[[AsyncSession, Envelope, Event], Awaitable[None]] | None = None,
    **options: Any,
) -> IdempotentConsumer:
    settings: dict[str, Any] = {
        "batch_size": 20,
        "max_deliver": 6,
        "ack_wait_s": 1.0,
        "fetch_timeout_s": 0.25,
        "idle_check_s": 1.0,
    }
    settings.update(options)
    subscription = Subscription(
        durable=DURABLE, producer=PRODUCER, subject=SUBJECT, handler=handler or harness.apply_effect
    )
    return IdempotentConsumer(broker.nc, broker.js, db or harness.db, harness.tables, subscription, **settings)


def relay(harness: MessagingSchema, broker: Broker, *, db: Database | None = None, **options: Any) -> OutboxRelay:
    settings: dict[str, Any] = {"poll_interval_s": 0.05, "publish_timeout_s": 1.0}
    settings.update(options)
    return OutboxRelay(db or harness.db, harness.tables, broker.js, **settings)


@contextlib.asynccontextmanager
async def running(*loops: Coroutine[Any, Any, None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run relay/consumer loops as tasks for the block; cancel and await them afterwards."""
    tasks = [asyncio.create_task(loop) for loop in loops]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
