"""The contracts app in-process (real PostGIS, real nats-server), shared by this directory's tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
import pytest_asyncio
from fastapi import FastAPI
from nats.aio.client import Client
from sqlalchemy import text

from services.contracts.app import create_app
from services.contracts.settings import Settings
from shared.auth import Role
from shared.clock import FixedClock
from shared.db import Database, create_engine
from shared.events.envelope import Envelope, Event
from shared.service import Runtime
from tests.conftest import Keys
from tests.support import fixtures
from tests.support.apps import running_app, service_settings
from tests.support.clock import suite_clock, suite_now
from tests.support.infra import NatsServer

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url


@dataclass
class Contracts:
    """An httpx client on the running app plus the tokens and a database handle the tests need."""

    client: httpx.AsyncClient
    keys: Keys
    db: Database
    settings: Settings
    app: FastAPI
    # the test-only admin connection: stands in for the other services (their events, requests' RPC asks),
    # which the contracts user may not publish
    broker: Client

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    clock: FixedClock  # the app's clock: what the service calls "now" (the suite's instant unless a test moves it)

    async def publish(self, event: Event, event_id: uuid.UUID | None = None) -> uuid.UUID:
        """Publish another service's event the way its outbox relay would."""
        envelope = Envelope(
            event_id=event_id or uuid.uuid4(),
            type=event.subject,
            occurred_at=self.clock.now(),
            data=event.model_dump(mode="json"),
        )
        await self.broker.jetstream().publish(
            event.subject, envelope.model_dump_json().encode(), headers={"Nats-Msg-Id": str(envelope.event_id)}
        )
        return envelope.event_id

    async def outbox(self, subject: str, **data: str) -> list[dict[str, Any]]:
        """The event data this service wrote to its outbox under `subject`, filtered by top-level fields."""
        async with self.db.transaction() as session:
            rows = await session.execute(
                text("SELECT payload FROM contracts.outbox WHERE subject = :s ORDER BY id"), {"s": subject}
            )
            payloads = [r.payload if isinstance(r.payload, dict) else json.loads(r.payload) for r in rows]
        return [p["data"] for p in payloads if all(str(p["data"].get(k)) == v for k, v in data.items())]

    @property
    def manager(self) -> dict[str, str]:
        return self.keys.headers(Role.CONTRACT_MANAGER)

    def customer(self, customer_id: uuid.UUID | str) -> dict[str, str]:
        return self.keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(str(customer_id)))

    async def post(self, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=self.manager)
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]

    async def customer_with_site(
        self, name: str = "Yalta Fresh Market", lat: float = 44.4990, lon: float = 34.1600, **site: Any
    ) -> tuple[str, str]:
        customer = await self.post("/customers", {"name": name})
        created = await self.post(
            f"/customers/{customer['id']}/sites",
            {
                "name": f"{name} shop",
                "address": "Moskovskaya St 12, Yalta",
                "location": {"lat": lat, "lon": lon},
                **site,
            },
        )
        return customer["id"], created["id"]

    async def unit(self, site_id: str, serial: str | None = None, **fields: Any) -> str:
        body = {
            "equipment_type": "cold_room",
            "model": "Polair KXH-6",
            "serial": serial or uuid.uuid4().hex[:12],
            "required_skills": [{"skill": "refrigeration", "min_level": 2}],
            **fields,
        }
        return str((await self.post(f"/sites/{site_id}/equipment", body))["id"])

    async def contract(self, customer_id: str, site_ids: list[str], **fields: Any) -> dict[str, Any]:
        body = {
            "customer_id": customer_id,
            "contract_type": "full_maintenance",
            "starts_on": "2026-01-01",
            "site_ids": site_ids,
            "sla": [{"priority": "P1", "response_minutes": 240, "fix_minutes": 480}],
            **fields,
        }
        return await self.post("/contracts", body)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def contracts(database_url: str, nats_server: NatsServer, keys: Keys) -> AsyncIterator[Contracts]:
    settings = service_settings(
        Settings,
        database_url,
        nats_server.url,
        keys.private.parent,
        visit_sweep_interval_s=0,
        quota_release_interval_s=0,
    )
    clock = suite_clock()
    app = create_app(settings, clock=clock)
    db = Database(create_engine(settings))
    broker = await nats.connect(nats_server.url)
    try:
        async with running_app(app) as client:
            yield Contracts(client=client, keys=keys, db=db, settings=settings, app=app, clock=clock, broker=broker)
    finally:
        await broker.close()
        await db.dispose()


@pytest.fixture(autouse=True)
def _suite_instant(request: pytest.FixtureRequest) -> None:
    """Every test starts at the suite's "now", whatever the test before it did to the app's clock."""
    if "contracts" in request.fixturenames:
        contracts: Contracts = request.getfixturevalue("contracts")
        contracts.clock.set(suite_now())
