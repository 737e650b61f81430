"""Rate limits are counted in PostgreSQL, so two replicas share them (issue 16); 429 problem+json + Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts.app import create_app
from services.contracts.settings import Settings
from shared.auth import Role
from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.clock import suite_clock
from tests.support.infra import NatsServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _settings(database_url: str, nats_url: str, keys: Keys) -> Settings:
    settings: Settings = service_settings(
        Settings,
        database_url,
        nats_url,
        keys.private.parent,
        visit_sweep_interval_s=0,
        quota_release_interval_s=0,
        rate_limits_enabled=True,
        rate_limit_window_s=60,
        rate_limit_anonymous_per_ip=5,
    )
    return settings


async def test_two_replicas_share_the_count_and_the_next_window_lets_the_caller_in(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    clock = suite_clock()
    clock.set(clock.now().replace(minute=7, second=30, microsecond=0) + timedelta(days=3))  # a window nobody used
    settings = _settings(database_url, nats_server.url, keys)
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    async with running_app(first) as one, running_app(second) as other:
        answers = [(await (one if n % 2 else other).get("/readyz")).status_code for n in range(5)]
        assert answers == [200] * 5
        refused = await one.get("/readyz")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/rate-limited")
        assert refused.headers["Retry-After"] == "30"  # the window ends at the next full minute
        assert (await other.get("/readyz")).status_code == 429
        clock.advance(30)
        assert (await other.get("/readyz")).status_code == 200


async def test_with_rate_limits_off_nothing_is_counted(database_url: str, nats_server: NatsServer, keys: Keys) -> None:
    settings = _settings(database_url, nats_server.url, keys).model_copy(update={"rate_limits_enabled": False})
    clock = suite_clock()
    clock.set(clock.now() + timedelta(days=5))
    async with running_app(create_app(settings, clock=clock)) as api:
        assert {(await api.get("/readyz")).status_code for _ in range(8)} == {200}
        assert (await api.get("/customers", headers=keys.headers(Role.DISPATCHER))).status_code == 200
