"""Contracts on the real database: coverage overlaps, lifecycle, entitlement with business hours and quotas."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.events.contracts import (
    CHECK_ENTITLEMENT,
    ContractActivated,
    ContractEnded,
    EntitlementAnswer,
    EntitlementQuery,
)
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import rpc
from tests.contracts.conftest import Contracts
from tests.support.polling import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]

OFFICE_HOURS = {day: [{"start": "09:00", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}


async def _activate(contracts: Contracts, contract_id: str, expect: int = 200) -> dict[str, object]:
    response = await contracts.client.post(f"/contracts/{contract_id}/activate", headers=contracts.manager)
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_two_active_contracts_of_one_type_may_not_cover_one_unit(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Yevpatoria Market")
    cold_room = await contracts.unit(site_id)
    ice_machine = await contracts.unit(site_id, equipment_type="ice_machine")
    year = contracts.clock.now().astimezone(ZoneInfo("Europe/Simferopol")).year  # the contracts' default zone
    whole_site = await contracts.contract(customer_id, [site_id], starts_on=f"{year}-01-01", ends_on=f"{year}-12-31")
    await _activate(contracts, whole_site["id"])

    one_unit = await contracts.contract(customer_id, [site_id], equipment_ids=[ice_machine], starts_on=f"{year}-06-01")
    refused = await _activate(contracts, one_unit["id"], expect=409)
    assert refused["errors"] == [
        {  # type: ignore[comparison-overlap]
            "field": "equipment_ids",
            "reason": f"unit {ice_machine} is already covered by contract {whole_site['id']}",
        }
    ]
    assert (await contracts.client.get(f"/contracts/{one_unit['id']}", headers=contracts.manager)).json()[
        "status"
    ] == "draft"

    warranty = await contracts.contract(
        customer_id, [site_id], equipment_ids=[ice_machine], contract_type="warranty", starts_on=f"{year}-06-01"
    )
    await _activate(contracts, warranty["id"])  # another kind of service may overlap
    next_year = await contracts.contract(customer_id, [site_id], starts_on=f"{year + 1}-01-01")
    await _activate(contracts, next_year["id"])  # periods that do not overlap may cover the same units
    assert cold_room  # covered by the whole-site contract and by next year's


async def test_lifecycle_moves_are_checked_and_announced(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Simferopol Wholesale")
    contract = await contracts.contract(customer_id, [site_id])
    cid = contract["id"]
    post = contracts.client.post
    assert (await post(f"/contracts/{cid}/suspend", headers=contracts.manager)).status_code == 409
    await _activate(contracts, cid)
    assert (await contracts.outbox(ContractActivated.subject, contract_id=cid))[0]["site_ids"] == [site_id]
    suspended = await post(f"/contracts/{cid}/suspend", headers=contracts.manager)
    assert suspended.json()["status"] == "suspended"
    assert (await _activate(contracts, cid))["status"] == "active"  # resumed
    terminated = await post(f"/contracts/{cid}/terminate", headers=contracts.manager)
    assert terminated.json()["status"] == "terminated" and terminated.json()["ended_on"] is not None
    assert [e["status"] for e in await contracts.outbox(ContractEnded.subject, contract_id=cid)] == ["terminated"]
    again = await post(f"/contracts/{cid}/activate", headers=contracts.manager)
    assert again.status_code == 409
    assert "terminated contract cannot become active" in again.json()["detail"]


async def test_incoherent_contracts_are_refused_naming_the_field(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Bad Dates Ltd")
    _, other_site = await contracts.customer_with_site("Someone Else")
    cases = [
        ({"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "ends_on must not be before starts_on"),
        ({"site_ids": [other_site]}, "site_ids.0"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        (
            {"business_hours": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "18:00"}]}},
            "business_hours",
        ),
    ]
    for fields, named in cases:
        response = await contracts.client.post(
            "/contracts",
            headers=contracts.manager,
            json={
                "customer_id": customer_id,
                "contract_type": "on_call",
                "starts_on": "2026-01-01",
                "site_ids": [site_id],
                "sla": [{"priority": "P1", "response_minutes": 60, "fix_minutes": 120}],
                **fields,
            },
        )
        assert response.status_code == 422, fields
        assert named in response.text, (fields, response.text)


async def test_entitlement_counts_business_hours_from_the_asked_instant(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Yalta Fresh Market")
    unit = await contracts.unit(
        site_id, required_skills=[{"skill": "gas", "min_level": 3}], criticality="critical"
    )  # an emergency on it is P1, the contract's only term
    contract = await contracts.contract(
        customer_id,
        [site_id],
        business_hours=OFFICE_HOURS,
        holidays=["2026-12-31"],
        sla=[
            {
                "priority": "P1",
                "response_minutes": 240,
                "fix_minutes": 480,
                "required_skills": [{"skill": "refrigeration", "min_level": 2}],
            }
        ],
    )
    await _activate(contracts, contract["id"])
    friday_five = "2026-11-27T17:00:00+03:00"
    answer = (
        await contracts.client.get(
            "/entitlement",
            headers=contracts.customer(customer_id),
            params={"site_id": site_id, "equipment_id": unit, "kind": "emergency", "at": friday_five},
        )
    ).json()
    assert answer["covered"] is True and answer["contract_id"] == contract["id"]
    assert answer["response_due"] == "2026-11-30T09:00:00Z"  # Monday 12:00 in Simferopol
    assert answer["fix_due"] == "2026-11-30T13:00:00Z"
    assert {(s["skill"], s["min_level"]) for s in answer["required_skills"]} == {("refrigeration", 2), ("gas", 3)}

    no_term = (
        await contracts.client.get(
            "/entitlement", headers=contracts.manager, params={"site_id": site_id, "kind": "routine", "at": friday_five}
        )
    ).json()
    assert no_term["covered"] is True and no_term["response_due"] is None
    assert no_term["reason"] == "contract has no SLA for P3"


async def test_requests_service_asks_over_nats_and_quota_follows_its_events(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Feodosia Port Canteen")
    contract = await contracts.contract(
        customer_id,
        [site_id],
        contract_type="on_call",
        starts_on=(contracts.clock.now() - timedelta(days=30)).date().isoformat(),
        quotas=[{"request_kind": "emergency", "period": "year", "included": 2}],
    )
    await _activate(contracts, contract["id"])

    async def ask() -> EntitlementAnswer:
        return await rpc.call(
            contracts.broker,
            CHECK_ENTITLEMENT,
            EntitlementQuery(site_id=uuid.UUID(site_id), kind="emergency", at=contracts.clock.now()),
            EntitlementAnswer,
        )

    first = await ask()
    assert first.covered and first.quota_left == 2 and not first.quota_exceeded
    assert first.response_due is not None and first.priority == "P1"
    request_ids = [uuid.uuid4(), uuid.uuid4()]
    for request_id in request_ids:
        event = ServiceRequestCreated(
            request_id=request_id,
            customer_id=uuid.UUID(customer_id),
            site_id=uuid.UUID(site_id),
            kind="emergency",
            priority="P1",
            location={"lat": 45.03, "lon": 35.38},  # type: ignore[arg-type]
            covered=True,
            contract_id=uuid.UUID(contract["id"]),
            created_at=contracts.clock.now(),
        )
        event_id = await contracts.publish(event)
        await contracts.publish(event, event_id=uuid.uuid4())  # a replay under a new id counts once
        assert event_id
    used_up = await eventually(ask, lambda a: a.quota_left == 0)
    assert used_up.quota_exceeded and used_up.reason == "quota used up: the request is billable"
    await contracts.publish(
        ServiceRequestCancelled(request_id=request_ids[0], customer_id=uuid.UUID(customer_id), cancelled_by="customer")
    )
    freed = await eventually(ask, lambda a: a.quota_left == 1)
    assert not freed.quota_exceeded

    health = (await contracts.client.get(f"/contracts/{contract['id']}/health", headers=contracts.manager)).json()
    assert health["quotas"][0] | {"period_starts_on": None, "period_ends_on": None} == {
        "request_kind": "emergency",
        "period": "year",
        "included": 2,
        "used": 1,
        "left": 1,
        "period_starts_on": None,
        "period_ends_on": None,
    }


async def test_an_uncovered_site_and_a_unit_elsewhere_are_told_apart(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("No Contract Yet")
    _, other_site = await contracts.customer_with_site("Elsewhere")
    foreign_unit = await contracts.unit(other_site)
    bare = (await contracts.client.get("/entitlement", headers=contracts.manager, params={"site_id": site_id})).json()
    assert bare["found"] and not bare["covered"] and bare["reason"] == "no active contract covers this site"
    mismatch = (
        await contracts.client.get(
            "/entitlement", headers=contracts.manager, params={"site_id": site_id, "equipment_id": foreign_unit}
        )
    ).json()
    assert not mismatch["covered"] and mismatch["reason"] == "no such unit at this site"
    unknown = await contracts.client.get(
        "/entitlement", headers=contracts.manager, params={"site_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 404
    assert customer_id
