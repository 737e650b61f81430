"""Notify under test: the app served by uvicorn against the session's database and nats-server, with a real
SMTP server and a real webhook receiver, and a NATS client to publish other producers' events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest_asyncio
from fastapi import FastAPI
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy import select

from services.notify.app import create_app
from services.notify.db import tables as t
from services.notify.settings import Settings
from shared.auth import Role
from shared.db import Database
from tests.conftest import Keys
from tests.notify.support import Inbox, MovableClock, Receiver, notify_server, smtp_server, webhook_receiver
from tests.support import fixtures
from tests.support.apps import service_settings
from tests.support.infra import NatsServer

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url


@dataclass
class Notify:
    api: httpx.AsyncClient
    url: str
    js: JetStreamContext
    nc: Client
    inbox: Inbox
    receiver: Receiver
    db: Database
    keys: Keys
    settings: Settings
    app: FastAPI
    clock: MovableClock

    def staff(self, role: Role = Role.DISPATCHER) -> dict[str, str]:
        return self.keys.headers(role)

    async def add_recipient(self, **body: Any) -> dict[str, Any]:
        response = await self.api.post("/recipients", json=body, headers=self.staff())
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def deliveries(self, source_event_id: uuid.UUID) -> list[dict[str, Any]]:
        async with self.db.transaction() as session:
            rows = await session.execute(select(t.deliveries).where(t.deliveries.c.source_event_id == source_event_id))
            return [dict(r._mapping) for r in rows]

    async def consumers_idle(self) -> bool:
        """Every notify consumer has handled (and acked) everything published so far."""
        for consumer in self.app.state.runtime.consumers:
            info = await self.js.consumer_info(consumer.stream, consumer.sub.durable)
            if info.num_pending or info.num_ack_pending:
                return False
        return True


def notify_settings(
    database_url: str, nats_url: str, keys: Keys, smtp_port: int, receiver_port: int, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "smtp_port": smtp_port,
        "delivery_poll_interval_s": 0.05,
        "retry_base_s": 0.05,
        "retry_cap_s": 0.5,
        "retry_window_s": 60.0,
        "dead_letter_poll_interval_s": 0.1,
        "consumer_ack_wait_s": 5.0,
        "webhook_allow_list": [f"127.0.0.1:{receiver_port}"],
        "webhook_timeout_s": 5.0,
        **overrides,
    }
    settings: Settings = service_settings(Settings, database_url, nats_url, keys.private.parent, **values)
    return settings


@pytest_asyncio.fixture
async def notify(database_url: str, nats_server: NatsServer, keys: Keys) -> AsyncIterator[Notify]:
    async with smtp_server() as (inbox, smtp_port), webhook_receiver() as receiver:
        settings = notify_settings(database_url, nats_server.url, keys, smtp_port, receiver.port)
        clock = MovableClock()
        app = create_app(settings, clock=clock)
        async with notify_server(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
            nc = await nats.connect(nats_server.url)
            try:
                harness = Notify(
                    api=api,
                    url=url,
                    js=nc.jetstream(),
                    nc=nc,
                    inbox=inbox,
                    receiver=receiver,
                    db=app.state.runtime.db,
                    keys=keys,
                    settings=settings,
                    app=app,
                    clock=clock,
                )
                yield harness
            finally:
                await nc.close()
