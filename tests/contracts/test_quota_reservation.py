"""Quota reserved per request on the real database: concurrent asks, repeated asks, events, cancellations."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from services.contracts.db.repositories import Repositories
from services.contracts.usecases.entitlement import check_entitlement, release_unconfirmed_reservations, reserve_quota
from shared.db import Database, create_engine
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import rpc
from tests.contracts.conftest import Contracts
from tests.support.clock import suite_now
from tests.support.polling import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]


async def _on_call_contract(contracts: Contracts, name: str, included: int) -> tuple[str, str, str]:
    customer_id, site_id = await contracts.customer_with_site(name)
    contract = await contracts.contract(
        customer_id,
        [site_id],
        contract_type="on_call",
        starts_on=(contracts.clock.now() - timedelta(days=30)).date().isoformat(),
        quotas=[{"request_kind": "emergency", "period": "year", "included": included}],
    )
    response = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert response.status_code == 200, response.text
    return customer_id, site_id, contract["id"]


async def _ask(db: Database, query: EntitlementQuery) -> EntitlementAnswer:
    """The entitlement answer in a transaction of its own, as the RPC server gives it."""
    async with db.transaction() as session:
        return await check_entitlement(session, query)


async def _release(db: Database, now: datetime, ttl: timedelta) -> int:
    async with db.transaction() as session:
        return await release_unconfirmed_reservations(session, now, ttl)


def _query(
    site_id: str, request_id: uuid.UUID | None = None, customer_id: str | None = None, at: datetime | None = None
) -> EntitlementQuery:
    return EntitlementQuery(
        site_id=uuid.UUID(site_id),
        kind="emergency",
        at=at or suite_now(),
        request_id=request_id,
        customer_id=uuid.UUID(customer_id) if customer_id else None,
    )


def _filed(customer_id: str, site_id: str, contract_id: str, request_id: uuid.UUID) -> ServiceRequestCreated:
    return ServiceRequestCreated(
        request_id=request_id,
        customer_id=uuid.UUID(customer_id),
        site_id=uuid.UUID(site_id),
        kind="emergency",
        priority="P1",
        location={"lat": 44.5, "lon": 34.16},  # type: ignore[arg-type]
        covered=True,
        contract_id=uuid.UUID(contract_id),
        created_at=suite_now(),
    )


async def _used(contracts: Contracts, contract_id: str) -> dict[str, Any]:
    health = await contracts.client.get(f"/contracts/{contract_id}/health", headers=contracts.manager)
    assert health.status_code == 200, health.text
    quota: dict[str, Any] = health.json()["quotas"][0]
    return quota


async def _job_recorded(contracts: Contracts, request_id: uuid.UUID) -> bool:
    async with contracts.db.transaction() as session:
        found = await session.execute(
            text("SELECT 1 FROM contracts.service_jobs WHERE request_id = :id"), {"id": request_id}
        )
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
        replies = await asyncio.gather(
            *(
                _ask(contracts.db if i % 2 else other_replica, _query(site_id, request_id, customer_id))
                for i, request_id in enumerate(asked)
            )
        )
    finally:
        await other_replica.dispose()
    answers, repeats = replies[:20], replies[20:]
    assert [(a.quota_exceeded, a.quota_left) for a in repeats] == [
        (a.quota_exceeded, a.quota_left) for a in answers[:5]
    ]
    assert all(a.covered for a in answers)
    within = [rid for rid, a in zip(request_ids, answers, strict=True) if not a.quota_exceeded]
    assert len(within) == 3
    assert sorted(a.quota_left for a in answers if not a.quota_exceeded) == [1, 2, 3]  # type: ignore[type-var]
    assert all(
        a.quota_left == 0 and a.reason == "quota used up: the request is billable" for a in answers if a.quota_exceeded
    )
    assert (await _used(contracts, contract_id))["used"] == 5

    # asking again for a request, over NATS this time, answers the same and consumes nothing more
    again = await rpc.call(
        contracts.broker, CHECK_ENTITLEMENT, _query(site_id, within[0], customer_id), EntitlementAnswer
    )
    first = answers[request_ids.index(within[0])]
    assert (again.quota_exceeded, again.quota_left) == (False, first.quota_left)
    billable = next(rid for rid in request_ids if rid not in within)
    assert (await _ask(contracts.db, _query(site_id, billable, customer_id))).quota_exceeded
    # people's questions over HTTP are read-only
    http = await contracts.client.get(
        "/entitlement", headers=contracts.manager, params={"site_id": site_id, "kind": "emergency"}
    )
    assert http.status_code == 200 and http.json()["quota_exceeded"] is True
    # the request's created event counts it once: its reservation already did
    await contracts.publish(_filed(customer_id, site_id, contract_id, within[0]))
    await eventually(lambda: _job_recorded(contracts, within[0]), what="the created event handled")
    assert (await _used(contracts, contract_id))["used"] == 5


async def test_a_cancelled_request_gives_its_unit_back(contracts: Contracts) -> None:
    customer_id, site_id, contract_id = await _on_call_contract(contracts, "Alushta Bakery", included=1)
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert not (await _ask(contracts.db, _query(site_id, first, customer_id))).quota_exceeded
    assert (await _ask(contracts.db, _query(site_id, second, customer_id))).quota_exceeded

    await contracts.publish(
        ServiceRequestCancelled(request_id=first, customer_id=uuid.UUID(customer_id), cancelled_by="customer")
    )
    await eventually(lambda: _used(contracts, contract_id), lambda q: q["used"] == 0, what="the unit released")
    freed = await _ask(contracts.db, _query(site_id, third, customer_id))
    assert not freed.quota_exceeded and freed.quota_left == 1
    # the cancelled request, asking again, is told what it was told and takes nothing back
    assert not (await _ask(contracts.db, _query(site_id, first, customer_id))).quota_exceeded
    assert (await _used(contracts, contract_id))["used"] == 1
    assert (await _ask(contracts.db, _query(site_id, uuid.uuid4(), customer_id))).quota_exceeded


async def test_no_reservation_on_another_customers_site(contracts: Contracts) -> None:
    _, site_id, contract_id = await _on_call_contract(contracts, "Kerch Fish Shop", included=2)
    stranger, _ = await contracts.customer_with_site("Someone Else")
    answer = await _ask(contracts.db, _query(site_id, uuid.uuid4(), stranger))
    assert answer.covered and answer.quota_left == 2
    assert (await _used(contracts, contract_id))["used"] == 0


async def _reservation(contracts: Contracts, request_id: uuid.UUID) -> dict[str, Any] | None:
    async with contracts.db.transaction() as session:
        row = (
            await session.execute(
                text("SELECT * FROM contracts.quota_consumptions WHERE request_id = :id"), {"id": request_id}
            )
        ).first()
        return dict(row._mapping) if row else None


async def _handled(contracts: Contracts, event_id: uuid.UUID) -> bool:
    async with contracts.db.transaction() as session:
        found = await session.execute(
            text(
                "SELECT 1 FROM contracts.processed_messages "
                "WHERE consumer = 'contracts-service-jobs' AND event_id = :id"
            ),
            {"id": event_id},
        )
        return found.first() is not None


async def test_a_reservation_never_confirmed_is_released_and_a_late_event_still_counts_once(
    contracts: Contracts,
) -> None:
    customer_id, site_id, contract_id = await _on_call_contract(contracts, "Feodosia Dairy", included=5)
    now = contracts.clock.now()
    ttl = timedelta(seconds=contracts.settings.quota_reservation_ttl_s)
    never_filed, filed, late, young = (uuid.uuid4() for _ in range(4))
    for request_id in (never_filed, filed, late):
        asked = await _ask(contracts.db, _query(site_id, request_id, customer_id, at=now - 2 * ttl))
        assert not asked.quota_exceeded
    assert not (await _ask(contracts.db, _query(site_id, young, customer_id, at=now))).quota_exceeded
    await contracts.publish(_filed(customer_id, site_id, contract_id, filed))
    await eventually(
        lambda: _reservation(contracts, filed),
        lambda r: r is not None and r["confirmed_at"] is not None,
        what="the filed request's reservation confirmed",
    )
    assert (await _used(contracts, contract_id))["used"] == 4

    assert await _release(contracts.db, now, ttl) >= 2
    assert await _reservation(contracts, never_filed) is None and await _reservation(contracts, late) is None
    kept = await _reservation(contracts, filed)
    assert kept is not None and kept["released_at"] is None  # confirmed: kept however old
    assert await _reservation(contracts, young) is not None  # not yet past its TTL
    assert (await _used(contracts, contract_id))["used"] == 2
    # a second run (another replica) has nothing more of these to release
    await _release(contracts.db, now, ttl)
    assert (await _used(contracts, contract_id))["used"] == 2

    # the request was filed after all: its created event, delivered twice, counts it once
    first = await contracts.publish(_filed(customer_id, site_id, contract_id, late))
    again = await contracts.publish(_filed(customer_id, site_id, contract_id, late))
    for event_id in (first, again):
        await eventually(lambda event_id=event_id: _handled(contracts, event_id), what="the late created event handled")
    counted = await _reservation(contracts, late)
    assert counted is not None and counted["within_quota"] is True and counted["confirmed_at"] is not None
    assert (await _used(contracts, contract_id))["used"] == 3
    assert await _reservation(contracts, filed) is not None


async def test_reservation_counts_on_the_terms_read_under_its_lock(contracts: Contracts) -> None:
    customer_id, site_id, contract_id = await _on_call_contract(contracts, "Saki Ice Works", included=5)
    async with contracts.db.transaction() as session:
        stale = await Repositories(session).contracts.get_contract(uuid.UUID(contract_id))
    assert stale is not None
    changed = await contracts.client.patch(
        f"/contracts/{contract_id}",
        headers=contracts.manager,
        json={"quotas": [{"request_kind": "emergency", "period": "year", "included": 1}]},
    )
    assert changed.status_code == 200, changed.text
    assert not (await _ask(contracts.db, _query(site_id, uuid.uuid4(), customer_id))).quota_exceeded
    # terms read before the lock say 5 included; the count goes by the 1 the contract has now
    async with contracts.db.transaction() as session:
        held = await reserve_quota(Repositories(session), stale, "emergency", uuid.uuid4(), contracts.clock.now())
    assert held is not None and held.within_quota is False and held.quota_left == 0


async def test_a_manager_changing_the_quota_mid_ask_is_waited_for(contracts: Contracts) -> None:
    customer_id, site_id, contract_id = await _on_call_contract(contracts, "Evpatoria Creamery", included=3)
    assert not (await _ask(contracts.db, _query(site_id, uuid.uuid4(), customer_id))).quota_exceeded
    async with contracts.db.transaction() as manager:
        # a manager's change holds the contract row (change_contract reads it FOR UPDATE) while rewriting quotas
        await manager.execute(text("SELECT 1 FROM contracts.contracts WHERE id = :id FOR UPDATE"), {"id": contract_id})
        await manager.execute(
            text("UPDATE contracts.quotas SET included = 1 WHERE contract_id = :id"), {"id": contract_id}
        )
        ask = asyncio.create_task(_ask(contracts.db, _query(site_id, uuid.uuid4(), customer_id)))

        async def waiting_for_the_row() -> bool:
            async with contracts.db.transaction() as session:
                found = await session.execute(
                    text(
                        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query ILIKE '%FOR SHARE%'"
                    )
                )
                return found.first() is not None

        await eventually(waiting_for_the_row, what="the ask waiting for the manager's change")
        assert not ask.done()
    answer = await ask
    assert answer.quota_exceeded and answer.quota_left == 0
