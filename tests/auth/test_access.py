"""Through the real apps (in-process, lifespans running on the session's database and nats-server): nobody
reads or changes what is not theirs, and no forged, stale or foreign token gets in."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.records import NewAssignment
from shared.auth import Role
from shared.db import Database
from tests.auth.forge import refused_tokens
from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.infra import NatsServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROBLEM_JSON = "application/problem+json"


@dataclass
class Apps:
    contracts: httpx.AsyncClient
    requests: httpx.AsyncClient
    dispatch: httpx.AsyncClient
    dispatch_db: Database


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def apps(database_url: str, nats_server: NatsServer, keys: Keys) -> AsyncIterator[Apps]:
    clients: dict[str, httpx.AsyncClient] = {}
    async with AsyncExitStack() as stack:
        for name in ("contracts", "requests", "dispatch"):
            settings_cls = importlib.import_module(f"services.{name}.settings").Settings
            create_app = importlib.import_module(f"services.{name}.app").create_app
            app = create_app(service_settings(settings_cls, database_url, nats_server.url, keys.private.parent))
            clients[name] = await stack.enter_async_context(running_app(app))
            if name == "dispatch":
                dispatch_db: Database = app.state.runtime.db
        yield Apps(clients["contracts"], clients["requests"], clients["dispatch"], dispatch_db)


@dataclass
class Customer:
    id: uuid.UUID
    site_id: uuid.UUID
    headers: dict[str, str]


async def _customer(apps: Apps, keys: Keys, name: str) -> Customer:
    manager = keys.headers(Role.CONTRACT_MANAGER)
    created = await apps.contracts.post("/customers", json={"name": name}, headers=manager)
    assert created.status_code == 201, created.text
    customer_id = uuid.UUID(created.json()["id"])
    site = await apps.contracts.post(
        f"/customers/{customer_id}/sites",
        headers=manager,
        json={
            "name": f"{name}, main shop",
            "address": "Kirova St 1, Simferopol",
            "location": {"lat": 44.95, "lon": 34.10},
        },
    )
    assert site.status_code == 201, site.text
    return Customer(customer_id, uuid.UUID(site.json()["id"]), keys.headers(Role.CUSTOMER, customer_id=customer_id))


def _assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["status"] == status


async def test_a_customer_cannot_see_or_cancel_another_customers_request_or_site(apps: Apps, keys: Keys) -> None:
    anna = await _customer(apps, keys, "Anna's Ice Cream")
    boris = await _customer(apps, keys, "Boris Bakery")
    filed = await apps.requests.post(
        "/requests",
        headers={**anna.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"site_id": str(anna.site_id), "kind": "routine", "description": "Display case frosting over"},
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]

    assert (await apps.requests.get(f"/requests/{request_id}", headers=anna.headers)).status_code == 200
    _assert_problem(await apps.requests.get(f"/requests/{request_id}", headers=boris.headers), 404)
    _assert_problem(await apps.requests.post(f"/requests/{request_id}/cancel", headers=boris.headers), 404)
    # 404, like a request that does not exist: nothing tells Boris that this one does
    unknown = await apps.requests.get(f"/requests/{uuid.uuid4()}", headers=boris.headers)
    assert (unknown.status_code, unknown.json()["title"]) == (404, "Not found")

    listed = await apps.requests.get("/requests", headers=boris.headers)
    assert request_id not in {r["id"] for r in listed.json()}
    by_site = await apps.requests.get(f"/sites/{anna.site_id}/requests", headers=boris.headers)
    assert by_site.status_code == 404 or request_id not in {r["id"] for r in by_site.json()}
    filed_on_anna_site = await apps.requests.post(
        "/requests",
        headers={**boris.headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"site_id": str(anna.site_id), "kind": "emergency", "description": "not my site"},
    )
    _assert_problem(filed_on_anna_site, 422)
    assert "site_id" in {e["field"] for e in filed_on_anna_site.json()["errors"]}

    for path in (f"/sites/{anna.site_id}", f"/customers/{anna.id}/sites", f"/customers/{anna.id}"):
        assert (await apps.contracts.get(path, headers=anna.headers)).status_code == 200, path
        _assert_problem(await apps.contracts.get(path, headers=boris.headers), 404)

    still = await apps.requests.get(f"/requests/{request_id}", headers=anna.headers)
    assert still.json()["status"] != "cancelled"
    assert [e for e in still.json()["timeline"] if e["status"] == "cancelled"] == []


async def test_a_technician_cannot_see_or_change_another_technicians_assignment(apps: Apps, keys: Keys) -> None:
    dispatcher = keys.headers(Role.DISPATCHER)
    technicians = []
    for name in ("Oleg Petrov", "Ivan Sidorov"):
        created = await apps.dispatch.post(
            "/technicians",
            headers=dispatcher,
            json={"name": name, "skills": {"refrigeration": 3}, "home_base": {"lat": 44.95, "lon": 34.10}},
        )
        assert created.status_code == 201, created.text
        technicians.append(uuid.UUID(created.json()["id"]))
    oleg_id, ivan_id = technicians
    start = datetime.now(UTC) + timedelta(days=3)
    assignment = NewAssignment(
        id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        technician_id=oleg_id,
        customer_id=uuid.uuid4(),
        status="offered",
        planned_start=start,
        planned_end=start + timedelta(hours=1),
        eta=start,
        booked_at=start - timedelta(hours=1),
    )
    async with apps.dispatch_db.transaction() as session:
        await DispatchRepository(session).book(assignment)
    oleg = keys.headers(Role.TECHNICIAN, technician_id=oleg_id)
    ivan = keys.headers(Role.TECHNICIAN, technician_id=ivan_id)
    path = f"/assignments/{assignment.id}"

    mine = await apps.dispatch.get(path, headers=oleg)
    assert mine.status_code == 200, mine.text
    _assert_problem(await apps.dispatch.get(path, headers=ivan), 404)
    _assert_problem(await apps.dispatch.post(f"{path}/status", headers=ivan, json={"status": "accepted"}), 404)
    for step, body in (("accept", {}), ("decline", {"reason": "not mine"}), ("status", {"status": "en_route"})):
        response = await apps.dispatch.post(
            f"/me{path}/{step}", headers=ivan, json={"client_command_id": str(uuid.uuid4()), **body}
        )
        _assert_problem(response, 404)
    _assert_problem(await apps.dispatch.get(f"/technicians/{oleg_id}", headers=ivan), 404)
    assert (await apps.dispatch.get(f"/technicians/{oleg_id}", headers=oleg)).status_code == 200

    after = (await apps.dispatch.get(path, headers=oleg)).json()
    assert (after["status"], after["version"]) == (mine.json()["status"], mine.json()["version"]) == ("offered", 1)


async def test_no_token_is_401_problem_json_on_every_service(apps: Apps) -> None:
    for client, path in (
        (apps.requests, "/requests"),
        (apps.contracts, "/customers"),
        (apps.dispatch, f"/technicians/{uuid.uuid4()}"),
    ):
        for headers in ({}, {"Authorization": "Basic YW5uYTpzZWNyZXQ="}, {"Authorization": "Bearer "}):
            response = await client.get(path, headers=headers)
            _assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("kind", sorted(refused_tokens(b"", b"")))
async def test_a_forged_stale_or_foreign_token_is_401(kind: str, apps: Apps, keys: Keys) -> None:
    token = refused_tokens(keys.private.read_bytes(), keys.public.read_bytes())[kind]()
    for client, path in (
        (apps.requests, "/requests"),
        (apps.contracts, "/customers"),
        (apps.dispatch, f"/technicians/{uuid.uuid4()}"),
    ):
        response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        _assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
