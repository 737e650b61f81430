"""The walking skeleton end to end: four real service processes, real PostGIS, a real nats-server."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import asyncpg
import httpx
import pytest

from shared.auth import Role
from tests.conftest import Keys
from tests.support.bodies import contract_body
from tests.support.infra import Stack

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it


async def _setup_customer(stack: Stack, keys: Keys) -> tuple[uuid.UUID, uuid.UUID]:
    manager = keys.headers(Role.CONTRACT_MANAGER)
    async with httpx.AsyncClient(base_url=stack.url("contracts"), headers=manager) as contracts:
        customer = (await contracts.post("/customers", json={"name": "Yalta Fresh Market"})).json()
        site = await contracts.post(
            f"/customers/{customer['id']}/sites",
            json={
                "name": "Yalta, Moskovskaya 12",
                "address": "Moskovskaya St 12, Yalta",
                "location": {"lat": 44.4990, "lon": 34.1600},
            },
        )
        assert site.status_code == 201, site.text
        contract = await contracts.post(
            "/contracts",
            json=contract_body(customer["id"], [site.json()["id"]]),
        )
        assert contract.status_code == 201, contract.text
        activated = await contracts.post(f"/contracts/{contract.json()['id']}/activate")
        assert activated.json()["status"] == "active"
    return uuid.UUID(customer["id"]), uuid.UUID(site.json()["id"])


async def _add_technician(
    stack: Stack, keys: Keys, name: str, lat: float, lon: float, skills: dict[str, int]
) -> uuid.UUID:
    async with httpx.AsyncClient(base_url=stack.url("dispatch"), headers=keys.headers(Role.DISPATCHER)) as dispatch:
        response = await dispatch.post(
            "/technicians",
            json={
                "name": name,
                "skills": skills,
                "home_base": {"lat": lat, "lon": lon},
                "weekly_shifts": {
                    d: {"start": "00:00", "end": "00:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                },
            },
        )
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])


async def _first_sse_event(url: str, token: str, kind: str, timeout_s: float) -> dict[str, object]:
    async with (
        httpx.AsyncClient(timeout=None) as client,
        # from the start of what is kept (without it, only what arrives once the stream is open)
        client.stream("GET", url, headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "0"}) as response,
    ):
        assert response.status_code == 200
        event: dict[str, str] = {}
        async with asyncio.timeout(timeout_s):
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event["event"] = line[7:]
                elif line.startswith("data: "):
                    event["data"] = line[6:]
                elif line == "" and event:
                    if event.get("event") == kind:
                        return json.loads(event["data"])  # type: ignore[no-any-return]
                    event = {}
    raise AssertionError("stream ended")


async def test_emergency_reaches_the_nearest_skilled_technician_and_the_customer(
    stack: Stack, keys: Keys, database_url: str
) -> None:
    customer_id, site_id = await _setup_customer(stack, keys)
    # Oleg in Yalta has no refrigeration skill; Anna in Alushta has it; Ivan in Kerch is far away.
    await _add_technician(stack, keys, "Oleg Petrov", 44.497, 34.165, {"electrical": 3})
    anna = await _add_technician(stack, keys, "Anna Koval", 44.676, 34.410, {"refrigeration": 3})
    await _add_technician(stack, keys, "Ivan Sidorov", 45.357, 36.468, {"refrigeration": 4})

    technician_token = keys.token(Role.TECHNICIAN, technician_id=anna)
    stream = asyncio.create_task(
        _first_sse_event(f"{stack.url('notify')}/streams/me", technician_token, "assignment.created", 5.0)
    )
    # no need to wait for the stream to open: it replays from the start (Last-Event-ID: 0)

    customer = keys.headers(Role.CUSTOMER, customer_id=customer_id)
    filed_at = time.monotonic()
    async with httpx.AsyncClient(base_url=stack.url("requests"), headers=customer) as requests_api:
        correlation_id = uuid.uuid4().hex
        filed = await requests_api.post(
            "/requests",
            headers={"Idempotency-Key": "walk-1", "X-Correlation-Id": correlation_id},
            json={"site_id": str(site_id), "kind": "emergency", "description": "Cold room at +9 °C"},
        )
        assert filed.status_code == 201, filed.text
        assert filed.headers["X-Correlation-Id"] == correlation_id
        request_id = filed.json()["id"]
        assert filed.json()["covered"] is True
        assert filed.json()["response_due"] is not None

        pushed = await stream
        assert pushed["request_id"] == request_id
        assert pushed["technician_id"] == str(anna)

        # the acceptance is "within 5 s": a deadline to wait up to, not a speed measured here
        shown = (await requests_api.get(f"/requests/{request_id}")).json()
        while shown["status"] != "assigned" and time.monotonic() < filed_at + 5:
            await asyncio.sleep(0.1)
            shown = (await requests_api.get(f"/requests/{request_id}")).json()
    assert shown["status"] == "assigned", f"not assigned within 5 s of filing: {shown['status']}"
    assert shown["technician_first_name"] == "Anna"
    assert "technician_id" not in shown  # the customer's view: the first name, no staff id
    assert shown["eta"] is not None

    # the correlation id travelled from the customer's HTTP call through requests' event into dispatch's
    conn = await asyncpg.connect(database_url)
    try:
        carried = await conn.fetchval(
            "SELECT payload->>'correlation_id' FROM dispatch.outbox WHERE payload->'data'->>'request_id' = $1",
            request_id,
        )
    finally:
        await conn.close()
    assert carried == correlation_id
