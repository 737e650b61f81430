"""The dispatch app in-process on the session's PostGIS and nats-server, with a clean dispatch schema per test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import nats
import pytest_asyncio
from fastapi import FastAPI
from nats.aio.client import Client as NATS

from services.dispatch.app import create_app
from services.dispatch.settings import Settings
from shared.auth import Role
from shared.events.envelope import Envelope, Event
from tests.conftest import Keys
from tests.support import fixtures
from tests.support.apps import running_app, service_settings
from tests.support.clock import suite_clock
from tests.support.infra import NatsServer, purge_streams

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url

DISPATCH_TABLES = (
    "technicians",
    "absences",
    "shifts",
    "jobs",
    "assignments",
    "assignment_history",
    "plans",
    "plan_proposals",
    "replan_requests",
    "mobile_commands",
    "position_pings",
    "sla_alerts",
    "plan_failures",
    "territory_policy",
    "attachments",
    "outbox",
)


# the producers whose streams dispatch's consumers read (services/dispatch/consumers.py)
DISPATCH_CONSUMES = ("requests", "contracts")


async def clean_dispatch_schema(conn: asyncpg.Connection) -> None:
    """Empties dispatch's tables: one statement, fast enough to run before every example of a property test."""
    await conn.execute("TRUNCATE " + ", ".join(f"dispatch.{t}" for t in DISPATCH_TABLES))


async def publish_on(broker: NATS, event: Event, occurred_at: datetime | None = None) -> None:
    """Publishes `event` as its producer's relay would (envelope, Nats-Msg-Id) on an open connection."""
    envelope = Envelope(
        type=event.subject, data=event.model_dump(mode="json"), occurred_at=occurred_at or datetime.now(UTC)
    )
    await broker.jetstream().publish(
        event.subject, envelope.model_dump_json().encode(), headers={"Nats-Msg-Id": str(envelope.event_id)}
    )


@dataclass
class Dispatch:
    app: FastAPI
    client: httpx.AsyncClient
    keys: Keys
    database_url: str
    # the test-only admin user's URL: the stand-ins for requests and contracts publish their events with it
    nats_url: str = ""

    @property
    def dispatcher(self) -> dict[str, str]:
        return self.keys.headers(Role.DISPATCHER)

    def technician(self, technician_id: uuid.UUID | str) -> dict[str, str]:
        return self.keys.headers(Role.TECHNICIAN, technician_id=uuid.UUID(str(technician_id)))

    async def publish(self, event: Event, occurred_at: datetime | None = None) -> None:
        broker = await nats.connect(self.nats_url)
        try:
            await publish_on(broker, event, occurred_at)
        finally:
            await broker.close()

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def add_technician(
        self, name: str, lat: float, lon: float, skills: dict[str, int] | None = None, **extra: Any
    ) -> str:
        response = await self.client.post(
            "/technicians",
            headers=self.dispatcher,
            json={
                "name": name,
                "skills": skills or {"refrigeration": 3},
                "home_base": {"lat": lat, "lon": lon},
                **extra,
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


class Clock:
    """The app's one source of "now", moved by the test: nothing depends on the wall clock or on midnight."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@contextlib.asynccontextmanager
async def dispatch_app(
    database_url: str,
    nats_server: NatsServer,
    keys: Keys,
    clock: Callable[[], datetime] | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[Dispatch]:
    conn = await asyncpg.connect(database_url)
    try:
        await clean_dispatch_schema(conn)
    finally:
        await conn.close()
    # dispatch's durables read these streams from their start: without the purge a test would get the events its
    # package's earlier tests published (and book their emergencies on its technicians first)
    await purge_streams(nats_server.url, DISPATCH_CONSUMES)
    settings = service_settings(
        Settings,
        database_url,
        nats_server.url,
        keys.private.parent,
        **{
            "replan_poll_s": 0,
            "plan_interval_s": 0,
            "sla_check_interval_s": 0,
            "overrun_check_interval_s": 0,
            "emergency_retry_interval_s": 0,
            "planner_time_limit_s": 1.0,
            # a technician added without shifts is on duty round the clock in these tests
            "default_weekly_shifts": None,
            **settings_overrides,
        },
    )
    app = create_app(settings, clock)
    async with running_app(app) as client:
        yield Dispatch(app, client, keys, database_url, nats_server.url)


@pytest_asyncio.fixture
async def dispatch(database_url: str, nats_server: NatsServer, keys: Keys) -> AsyncIterator[Dispatch]:
    """The dispatch app on the suite's fixed clock (`FIELDLINE_TEST_NOW`): no test depends on the hour it runs."""
    async with dispatch_app(database_url, nats_server, keys, suite_clock()) as running:
        yield running


# a Monday morning far from the wall clock's date, in the dispatch region's time zone
def march_2030(day: int, hh: int, mm: int = 0) -> datetime:
    """March 2030 in the company's time zone: the 3rd is a Sunday, the 4th a Monday, the 5th a Tuesday."""
    return datetime(2030, 3, day, hh, mm, tzinfo=ZoneInfo("Europe/Simferopol"))


MONDAY_0800 = march_2030(4, 8)


@pytest_asyncio.fixture
async def sunday_evening() -> Clock:
    """Sunday 3 March 2030, 20:00: the evening before the week the horizon, window and money suites plan."""
    return Clock(march_2030(3, 20))


@pytest_asyncio.fixture
async def clock() -> Clock:
    return Clock(MONDAY_0800)


@pytest_asyncio.fixture
async def clocked_dispatch(
    database_url: str, nats_server: NatsServer, keys: Keys, clock: Clock
) -> AsyncIterator[Dispatch]:
    """The dispatch app on `clock`: "today" is the clock's day."""
    async with dispatch_app(database_url, nats_server, keys, clock) as running:
        yield running
