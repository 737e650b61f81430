"""Equipment criticality picks an emergency's priority over NATS; unknown units; follow-ups use no quota."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.contracts.db import tables as t
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery
from shared.events.requests import ServiceRequestCreated
from shared.messaging import rpc
from tests.contracts.conftest import Contracts
from tests.support.polling import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]

BOTH_PRIORITIES = [
    {"priority": "P1", "response_minutes": 120, "fix_minutes": 240},
    {"priority": "P2", "response_minutes": 480, "fix_minutes": 960},
]


async def _ask(
    contracts: Contracts,
    site_id: str,
    equipment_id: str | None = None,
    kind: str = "emergency",
    priority: str | None = None,
) -> EntitlementAnswer:
    return await rpc.call(
        contracts.broker,
        CHECK_ENTITLEMENT,
        EntitlementQuery(
            site_id=uuid.UUID(site_id),
            equipment_id=uuid.UUID(equipment_id) if equipment_id else None,
            kind=kind,
            priority=priority,
            at=contracts.clock.now(),
        ),
        EntitlementAnswer,
    )


async def _activated(contracts: Contracts, customer_id: str, site_id: str, **fields: object) -> dict[str, object]:
    fields = {"contract_type": "on_call", **fields}
    contract = await contracts.contract(
        customer_id,
        [site_id],
        sla=BOTH_PRIORITIES,
        starts_on=(contracts.clock.now() - timedelta(days=30)).date().isoformat(),
        **fields,
    )
    response = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert response.status_code == 200, response.text
    return contract


async def test_an_emergencys_priority_and_deadlines_follow_the_units_criticality(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Sudak Winery Shop")
    critical = await contracts.unit(site_id, criticality="critical")
    low = await contracts.unit(site_id, criticality="low")
    plain = await contracts.unit(site_id)
    await _activated(contracts, customer_id, site_id)

    on_critical = await _ask(contracts, site_id, critical)
    assert (on_critical.priority, on_critical.equipment_criticality) == ("P1", "critical")
    on_low = await _ask(contracts, site_id, low)
    assert (on_low.priority, on_low.equipment_criticality) == ("P2", "low")
    assert on_low.response_due is not None and on_critical.response_due is not None
    assert on_low.response_due - on_critical.response_due > timedelta(hours=5)  # P2's 8 h against P1's 2 h
    assert (await _ask(contracts, site_id, plain)).priority == "P2"  # normal by default
    site_level = await _ask(contracts, site_id)
    assert (site_level.priority, site_level.equipment_criticality) == ("P1", None)
    assert (await _ask(contracts, site_id, low, priority="P1")).priority == "P1"  # an asked priority stands
    assert (await _ask(contracts, site_id, critical, kind="routine")).priority == "P3"

    shown = (await contracts.client.get(f"/equipment/{low}", headers=contracts.customer(customer_id))).json()
    assert shown["criticality"] == "low"
    refused = await contracts.client.post(
        f"/sites/{site_id}/equipment",
        headers=contracts.manager,
        json={"equipment_type": "cold_room", "model": "Polair", "serial": uuid.uuid4().hex, "criticality": "urgent"},
    )
    assert refused.status_code == 422 and "criticality" in refused.text


async def test_imported_units_carry_their_criticality(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    _, site_id = await contracts.customer_with_site("Alushta Bakery", external_ref=f"S-{tag}")
    equipment = (
        "site_ref,equipment_type,model,serial,criticality\n"
        f"S-{tag},oven,Rational,{tag}-1,critical\n"
        f"S-{tag},mixer,Sigma,{tag}-2,\n"
        f"S-{tag},fridge,Polair,{tag}-3,whenever\n"
    )
    response = await contracts.client.post(
        "/imports/equipment",
        headers=contracts.manager,
        files={"file": ("equipment.csv", equipment.encode(), "text/csv")},
    )
    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(4, "criticality")]
    fixed = equipment.replace("whenever", "low")
    imported = await contracts.client.post(
        "/imports/equipment", headers=contracts.manager, files={"file": ("equipment.csv", fixed.encode(), "text/csv")}
    )
    assert imported.status_code == 200 and imported.json()["imported"] == 3, imported.text
    units = (await contracts.client.get(f"/sites/{site_id}/equipment", headers=contracts.manager)).json()
    assert {u["serial"]: u["criticality"] for u in units} == {
        f"{tag}-1": "critical",
        f"{tag}-2": "normal",
        f"{tag}-3": "low",
    }


async def test_a_unit_not_at_the_site_is_reported_as_not_found(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Kerch Ferry Cafe")
    _, elsewhere = await contracts.customer_with_site("Somewhere Else")
    here, there = await contracts.unit(site_id), await contracts.unit(elsewhere)
    await _activated(contracts, customer_id, site_id)
    assert (await _ask(contracts, site_id, here)).equipment_found is True
    for unit in (there, str(uuid.uuid4())):
        answer = await _ask(contracts, site_id, unit)
        assert answer.found and not answer.equipment_found and not answer.covered
        assert answer.reason == "no such unit at this site"


async def test_a_needs_parts_follow_up_uses_no_quota(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Saki Spa Kitchen")
    contract = await _activated(
        contracts, customer_id, site_id, quotas=[{"request_kind": "routine", "period": "year", "included": 5}]
    )

    def filed(follow_up_of: uuid.UUID | None = None) -> ServiceRequestCreated:
        return ServiceRequestCreated(
            request_id=uuid.uuid4(),
            customer_id=uuid.UUID(customer_id),
            site_id=uuid.UUID(site_id),
            kind="routine",
            priority="P3",
            location={"lat": 45.13, "lon": 33.6},
            covered=True,
            contract_id=uuid.UUID(str(contract["id"])),
            created_at=contracts.clock.now(),
            follow_up_of=follow_up_of,
        )

    original = filed()
    follow_ups = [filed(follow_up_of=original.request_id), filed(follow_up_of=original.request_id)]
    another = filed()
    for event in (original, *follow_ups, another):
        await contracts.publish(event)

    async def recorded() -> int:
        async with contracts.db.transaction() as session:
            return int(
                (
                    await session.execute(
                        select(func.count())
                        .select_from(t.service_jobs)
                        .where(t.service_jobs.c.contract_id == uuid.UUID(str(contract["id"])))
                    )
                ).scalar_one()
            )

    await eventually(recorded, lambda n: n == 4)  # every event handled, follow-ups included
    answer = await _ask(contracts, site_id, kind="routine")
    assert answer.quota_left == 3 and not answer.quota_exceeded
    health = (await contracts.client.get(f"/contracts/{contract['id']}/health", headers=contracts.manager)).json()
    assert health["quotas"][0]["used"] == 2


async def test_a_warranty_contract_covers_a_unit_only_while_its_warranty_runs(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Feodosia Fish Market")
    today = contracts.clock.now().date()
    running = await contracts.unit(site_id, warranty_ends_on=(today + timedelta(days=90)).isoformat())
    lapsed_on = today - timedelta(days=1)
    lapsed = await contracts.unit(
        site_id, installed_on=(today - timedelta(days=800)).isoformat(), warranty_ends_on=lapsed_on.isoformat()
    )
    await _activated(contracts, customer_id, site_id, contract_type="warranty")

    assert (await _ask(contracts, site_id, running)).covered is True
    after = await _ask(contracts, site_id, lapsed)
    assert (after.covered, after.reason) == (False, f"the unit's warranty ended on {lapsed_on.isoformat()}")
    site_level = await _ask(contracts, site_id)
    assert (site_level.covered, site_level.reason) == (False, "warranty covers named units only")
