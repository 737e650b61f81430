"""A broker outage does not take a service out of service: it stays ready, takes writes into its outbox, and
publishes them when NATS is back. A broker older than the floor is refused at start."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from services.dispatch.app import create_app
from services.dispatch.db.tables import messaging
from services.dispatch.settings import Settings
from shared.auth import Role
from shared.events.dispatch import RequestUnplaceable
from shared.messaging import add_event
from shared.messaging.connection import MIN_SERVER_VERSION, BrokerTooOld, check_server_version
from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.clock import suite_now
from tests.support.infra import NatsServer
from tests.support.polling import eventually


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A broker this test may stop and start without disturbing the package's."""
    store = tmp_path / "nats"
    store.mkdir()
    server = NatsServer(store=store)
    server.start()
    yield server
    server.stop()


async def test_a_service_stays_ready_and_keeps_writes_while_nats_is_down(
    database_url: str, own_nats: NatsServer, keys: Keys
) -> None:
    settings = service_settings(
        Settings, database_url, own_nats.url, keys.private.parent,
        replan_poll_s=0, plan_interval_s=0, sla_check_interval_s=0, overrun_check_interval_s=0,
    )  # fmt: skip
    app = create_app(settings)
    async with running_app(app) as client:
        own_nats.stop()

        async def disconnected() -> bool:
            return not app.state.runtime.nc.is_connected

        await eventually(disconnected, what="the service notices the outage")

        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["nats"].startswith("disconnected")

        created = await client.post(
            "/technicians",
            headers=keys.headers(Role.DISPATCHER),
            json={"name": "Anna Koval", "skills": {"refrigeration": 3}, "home_base": {"lat": 44.95, "lon": 34.1}},
        )
        assert created.status_code == 201, created.text  # accepted while the broker is away
        async with app.state.runtime.db.transaction() as session:  # as any use case writes its event
            unplaceable = RequestUnplaceable(
                request_id=uuid.uuid4(), customer_id=uuid.uuid4(), reason="nobody free", response_due=suite_now()
            )
            await add_event(session, messaging, unplaceable, occurred_at=suite_now())

        conn = await asyncpg.connect(database_url)
        try:

            async def unpublished() -> int:
                return int(await conn.fetchval("SELECT count(*) FROM dispatch.outbox WHERE published_at IS NULL"))

            assert await unpublished() >= 1, "the write's event waits in the outbox"
            own_nats.start()
            await eventually(unpublished, lambda n: n == 0, what="the outbox drains once NATS is back", timeout_s=30)
        finally:
            await conn.close()


def test_a_broker_older_than_the_floor_is_refused_with_what_to_do() -> None:
    with pytest.raises(BrokerTooOld) as refused:
        check_server_version((2, 9, 10), "nats://127.0.0.1:4222")
    message = str(refused.value)
    assert "2.9.10" in message and ".".join(map(str, MIN_SERVER_VERSION)) in message and "NATS_URL" in message
    check_server_version(MIN_SERVER_VERSION, "nats://x")  # the floor itself is accepted
    check_server_version((2, 15, 1), "nats://x")
    check_server_version((3, 0, 0), "nats://x")


async def test_the_locked_server_the_tests_run_passes_the_floor(own_nats: NatsServer) -> None:
    nc = await nats.connect(own_nats.url)
    try:
        version = nc.connected_server_version
        check_server_version((version.major, version.minor, version.patch), own_nats.url)
    finally:
        await nc.close()
