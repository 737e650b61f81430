"""A site's on-site contact: kept through the API and the CSV import, handed out with visits and entitlement."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shared.events.contracts import (
    CHECK_ENTITLEMENT,
    EntitlementAnswer,
    EntitlementQuery,
    VisitPlanned,
    VisitRescheduled,
)
from shared.messaging import rpc
from tests.contracts.conftest import Contracts

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]

CONTACT = {"contact_name": "Marina Lysenko", "contact_phone": "+7 978 111 22 33"}


async def _patch(
    contracts: Contracts, site_id: str, body: dict[str, Any], headers: dict[str, str] | None = None, expect: int = 200
) -> dict[str, Any]:
    response = await contracts.client.patch(f"/sites/{site_id}", json=body, headers=headers or contracts.manager)
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_site_keeps_its_contact_and_a_manager_can_change_it(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Feodosia Ice", **CONTACT)
    read = (await contracts.client.get(f"/sites/{site_id}", headers=contracts.customer(customer_id))).json()
    assert (read["contact_name"], read["contact_phone"]) == (CONTACT["contact_name"], CONTACT["contact_phone"])

    changed = await _patch(
        contracts,
        site_id,
        {
            "contact_phone": "+7 978 999 00 00",
            "address": "Galereynaya 5",
            "access_hours": {"tue": [{"start": "09:00", "end": "17:00"}]},
        },
    )
    assert (changed["contact_name"], changed["contact_phone"]) == ("Marina Lysenko", "+7 978 999 00 00")
    assert changed["address"] == "Galereynaya 5" and changed["name"] == "Feodosia Ice shop"
    assert changed["access_hours"] == {"tue": [{"start": "09:00:00", "end": "17:00:00"}]}
    cleared = await _patch(contracts, site_id, {"contact_name": None, "access_hours": None})
    assert cleared["contact_name"] is None and cleared["contact_phone"] == "+7 978 999 00 00"
    assert cleared["access_hours"] is None
    listed = (await contracts.client.get(f"/customers/{customer_id}/sites", headers=contracts.manager)).json()
    assert [(s["address"], s["contact_phone"]) for s in listed] == [("Galereynaya 5", "+7 978 999 00 00")]


async def test_changing_a_site_is_for_managers_and_checked(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Kerch Bakery")
    await _patch(contracts, site_id, {"contact_name": "Ivan"}, headers=contracts.customer(customer_id), expect=403)
    await _patch(contracts, str(uuid.uuid4()), {"contact_name": "Ivan"}, expect=404)
    await _patch(contracts, site_id, {"address": None}, expect=422)
    problem = await _patch(
        contracts,
        site_id,
        {"access_hours": {"mon": [{"start": "08:00", "end": "12:00"}, {"start": "10:00", "end": "14:00"}]}},
        expect=422,
    )
    assert "access_hours" in str(problem)
    unchanged = (await contracts.client.get(f"/sites/{site_id}", headers=contracts.manager)).json()
    assert unchanged["contact_name"] is None and unchanged["access_hours"] is None


async def test_visits_and_entitlement_answers_carry_the_site_contact(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Sevastopol Deli", **CONTACT)
    contract = await contracts.contract(
        customer_id, [site_id], starts_on=(contracts.clock.now() - timedelta(days=30)).date().isoformat()
    )
    await contracts.post(
        f"/contracts/{contract['id']}/schedules",
        {
            "site_id": site_id,
            "rrule": "FREQ=WEEKLY;BYDAY=WE",
            "tolerance_days": 1,
            "duration_minutes": 45,
            "priority": "P3",
        },
    )
    activated = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert activated.status_code == 200, activated.text

    planned = await contracts.outbox(VisitPlanned.subject, contract_id=contract["id"])
    assert planned
    assert {(e["site_contact_name"], e["site_contact_phone"], e["address"]) for e in planned} == {
        (CONTACT["contact_name"], CONTACT["contact_phone"], "Moskovskaya St 12, Yalta")
    }

    answer = await rpc.call(
        contracts.broker,
        CHECK_ENTITLEMENT,
        EntitlementQuery(site_id=uuid.UUID(site_id), kind="emergency", at=contracts.clock.now()),
        EntitlementAnswer,
    )
    assert answer.site is not None and answer.covered
    assert (answer.site.contact_name, answer.site.contact_phone) == (CONTACT["contact_name"], CONTACT["contact_phone"])

    # a new contact reaches the visits still to come: dispatch is told them again
    await _patch(contracts, site_id, {"contact_name": "Oksana", "contact_phone": "+7 978 444 55 66"})
    told_again = await contracts.outbox(VisitRescheduled.subject, contract_id=contract["id"])
    assert sorted(e["visit_id"] for e in told_again) == sorted(e["visit_id"] for e in planned)
    assert {(e["site_contact_name"], e["site_contact_phone"]) for e in told_again} == {("Oksana", "+7 978 444 55 66")}
    # a change dispatch does not show (the name) tells it nothing
    await _patch(contracts, site_id, {"name": "Sevastopol Deli, main shop"})
    assert len(await contracts.outbox(VisitRescheduled.subject, contract_id=contract["id"])) == len(told_again)


async def test_the_sites_import_takes_an_optional_contact(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    customers = f"external_ref,name\nC-{tag},Yevpatoria Foods\n"
    sites = (
        "external_ref,customer_ref,name,address,lat,lon,contact_name,contact_phone\n"
        f"S-{tag}-1,C-{tag},Beach kiosk,Kurortnaya 1,45.19,33.37,Pavel,+7 978 123 45 67\n"
        f"S-{tag}-2,C-{tag},Warehouse,Promyshlennaya 9,45.21,33.40,,\n"
    )
    for kind, content in (("customers", customers), ("sites", sites)):
        response = await contracts.client.post(
            f"/imports/{kind}", headers=contracts.manager, files={"file": (f"{kind}.csv", content.encode(), "text/csv")}
        )
        assert response.status_code == 200, response.text
        assert response.json()["imported"] == content.count("\n") - 1
    everyone = (
        await contracts.client.get("/customers", params={"external_ref": f"C-{tag}"}, headers=contracts.manager)
    ).json()
    customer = next(c for c in everyone if c["external_ref"] == f"C-{tag}")
    listed = (await contracts.client.get(f"/customers/{customer['id']}/sites", headers=contracts.manager)).json()
    assert {s["external_ref"]: (s["contact_name"], s["contact_phone"]) for s in listed} == {
        f"S-{tag}-1": ("Pavel", "+7 978 123 45 67"),
        f"S-{tag}-2": (None, None),
    }
