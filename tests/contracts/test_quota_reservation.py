"""Quota reserved per request on the real database: concurrent asks, repeated asks, events, cancellations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from services.contracts.entitlement import check_entitlement
from shared.db import Database, create_engine
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import rpc
from tests.contracts.conftest import Contracts
from tests.support.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _on_call_contract(contracts: Contracts, name: str, included: int) -> tuple[str, str, str]:
    customer_id, site_id = await contracts.customer_with_site(name)
    contract = await contracts.contract(customer_id, [site_id], contract_type="on_call",
                                        starts_on=(datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
                                        quotas=[{"request_kind": "emergency", "period": "year", "included": included}])
    response = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert response.status_code == 200, response.text
    return customer_id, site_id, contract["id"]


def _query(site_id: str, request_id: uuid.UUID | None = None, customer_id: str | None = None) -> EntitlementQuery:
    return EntitlementQuery(site_id=uuid.UUID(site_id), kind="emergency", at=datetime.now(UTC),
                            request_id=request_id, customer_id=uuid.UUID(customer_id) if customer_id else None)


def _filed(customer_id: str, site_id: str, contract_id: str, request_id: uuid.UUID) -> ServiceRequestCreated:
    return ServiceRequestCreated(
        request_id=request_id, customer_id=uuid.UUID(customer_id), site_id=uuid.UUID(site_id), kind="emergency",
        priority="P1", location={"lat": 44.5, "lon": 34.16},  # type: ignore[arg-type]
        covered=True, contract_id=uuid.UUID(contract_id), created_at=datetime.now(UTC))


async def _used(contracts: Contracts, contract_id: str) -> dict[str, Any]:
    health = await contracts.client.get(f"/contracts/{contract_id}/health", headers=contracts.manager)
    assert health.status_code == 200, health.text
    quota: dict[str, Any] = health.json()["quotas"][0]
    return quota


async def _job_recorded(contracts: Contracts, request_id: uuid.UUID) -> bool:
    async with contracts.db.transaction() as session:
        found = await session.execute(text("SELECT 1 FROM contracts.service_jobs WHERE request_id = :id"),
                                      {"id": request_id})
        return found.first() is not None


async def test_concurrent_asks_from_two_replicas_get_exactly_the_units_left(contracts: Contracts) -> None:
    customer_id, site_id, contract_id = await _on_call_contract(contracts, "Sudak Wine Cellar", included=5)
    # two requests filed without a reservation (asked read-only) count through their events
    for _ in range(2):
        await contracts.publish(_filed(customer_id, site_id, contract_id, uuid.uuid4()))
    await eventually(lambda: _used(contracts, contract_id), lambda q: q["used"] == 2, what="two call-outs used")

    other_replica = Database(create_engine(contracts.settings))
    try:
        request_ids = [uuid.uuid4() for _ in range(20)]
        # the first five are asked twice at once, from both replicas
        asked = request_ids + request_ids[:5]
        replies = await asyncio.gather(*(
            check_entitlement(contracts.db if i % 2 else other_replica, _query(site_id, request_id, customer_id))
            for i, request_id in enumerate(asked)))
    finally:
        await other_replica.dispose()
    answers, repeats = replies[:20], replies[20:]
    assert [(a.quota_exceeded, a.quota_left) for a in repeats] == [(a.quota_exceeded, a.quota_left)
                                                                   for a in answers[:5]]
    assert all(a.covered for a in answers)
    within = [rid for rid, a in zip(request_ids, answers, strict=True) if not a.quota_exceeded]
    assert len(within) == 3
    assert sorted(a.quota_left for a in answers if not a.quota_exceeded) == [1, 2, 3]  # type: ignore[type-var]
    assert all(a.quota_left == 0 and a.reason == "quota used up: the request is billable"
               for a in answers if a.quota_exceeded)
    assert (await _used(contracts, contract_id))["used"] == 5

    # asking again for a request, over NATS this time, answers the same and consumes nothing more
    again = await rpc.call(contracts.runtime.nc, CHECK_ENTITLEMENT, _query(site_id, within[0], customer_id),
                           EntitlementAnswer)
    first = answers[request_ids.index(within[0])]
    assert (again.quota_exceeded, again.quota_left) == (False, first.quota_left)
    billable = next(rid for rid in request_ids if rid not in within)
    assert (await check_entitlement(contracts.db, _query(site_id, billable, customer_id))).quota_exceeded
    # people's questions over HTTP are read-only
    http = await contracts.client.get("/entitlement", headers=contracts.manager,
                                      params={"site_id": site_id, "kind": "emergency"})
    assert http.status_code == 200 and http.json()["quota_exceeded"] is True
    # the request's created event counts it once: its reservation already did
    await contracts.publish(_filed(customer_id, site_id, contract_id, within[0]))
    await eventually(lambda: _job_recorded(contracts, within[0]), what="the created event handled")
    assert (await _used(contracts, contract_id))["used"] == 5


async def test_a_cancelled_request_gives_its_unit_back(contracts: Contracts) -> None:
    customer_id, site_id, contract_id = await _on_call_contract(contracts, "Alushta Bakery", included=1)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert not (await check_entitlement(contracts.db, _query(site_id, first, customer_id))).quota_exceeded
    assert (await check_entitlement(contracts.db, _query(site_id, second, customer_id))).quota_exceeded

    await contracts.publish(ServiceRequestCancelled(
        request_id=first, customer_id=uuid.UUID(customer_id), cancelled_by="customer"))
    await eventually(lambda: _used(contracts, contract_id), lambda q: q["used"] == 0, what="the unit released")
    freed = await check_entitlement(contracts.db, _query(site_id, third, customer_id))
    assert not freed.quota_exceeded and freed.quota_left == 1
    # the cancelled request, asking again, is told what it was told and takes nothing back
    assert not (await check_entitlement(contracts.db, _query(site_id, first, customer_id))).quota_exceeded
    assert (await _used(contracts, contract_id))["used"] == 1
    assert (await check_entitlement(contracts.db, _query(site_id, uuid.uuid4(), customer_id))).quota_exceeded


async def test_no_reservation_on_another_customers_site(contracts: Contracts) -> None:
    _, site_id, contract_id = await _on_call_contract(contracts, "Kerch Fish Shop", included=2)
    stranger, _ = await contracts.customer_with_site("Someone Else")
    answer = await check_entitlement(contracts.db, _query(site_id, uuid.uuid4(), stranger))
    assert answer.covered and answer.quota_left == 2
    assert (await _used(contracts, contract_id))["used"] == 0
