"""Recipient management is rate limited per principal (and per IP), shared through PostgreSQL (issue 16)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from services.notify.app import create_app
from shared.auth import Role
from tests.conftest import Keys
from tests.notify.conftest import notify_settings
from tests.notify.support import notify_server, smtp_server, webhook_receiver
from tests.support.clock import suite_clock
from tests.support.infra import NatsServer


async def test_a_customer_adding_recipients_too_fast_gets_429_and_another_customer_does_not(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    clock = suite_clock()
    clock.set(clock.now().replace(second=0, microsecond=0) + timedelta(days=11))
    async with smtp_server() as (_, smtp_port), webhook_receiver() as receiver:
        settings = notify_settings(
            database_url,
            nats_server.url,
            keys,
            smtp_port,
            receiver.port,
            rate_limits_enabled=True,
            rate_limit_per_principal=3,
        )
        app = create_app(settings, clock=clock)
        async with notify_server(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as api:
            flooder, other = uuid.uuid4(), uuid.uuid4()
            mine = keys.headers(Role.CUSTOMER, customer_id=flooder)

            async def add(headers: dict[str, str], n: int) -> httpx.Response:
                body = {"kind": "customer", "email": f"contact{n}@shop.example"}
                return await api.post("/recipients", headers=headers, json=body)

            assert [(await add(mine, n)).status_code for n in range(3)] == [201, 201, 201]
            refused = await add(mine, 3)
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["Retry-After"] == "60"
            assert (await add(keys.headers(Role.CUSTOMER, customer_id=other), 9)).status_code == 201
            listed = (await api.get("/recipients", headers=mine)).json()
            assert len(listed) == 3
            clock.advance(60)
            assert (await add(mine, 4)).status_code == 201
