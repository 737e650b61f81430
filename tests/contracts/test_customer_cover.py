"""The customer portal's cover: my sites and units, the contract serving each now, SLA per priority, quotas used
and left, the next planned visit; never another customer's, never prices or internal references."""

from __future__ import annotations

import uuid

import pytest

from shared.auth import Role
from tests.contracts.conftest import Contracts

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_customer_reads_the_cover_of_its_sites_and_units(contracts: Contracts) -> None:
    customer, site = await contracts.customer_with_site("Alushta Deli", external_ref="CRM-4411")
    covered_unit = await contracts.unit(site, model="Carrier Ice 300")
    contract = await contracts.contract(
        customer,
        [site],
        sla=[
            {"priority": "P2", "response_minutes": 480, "fix_minutes": 1440},
            {"priority": "P1", "response_minutes": 120, "fix_minutes": 360},
        ],
        quotas=[{"request_kind": "emergency", "period": "year", "included": 6}],
        price={"currency": "RUB", "monthly_fee": "45000.00"},
    )
    await contracts.post(
        f"/contracts/{contract['id']}/schedules",
        {"site_id": site, "rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "duration_minutes": 60, "tolerance_days": 3},
    )
    assert (await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)).is_success

    response = await contracts.client.get("/customer/cover", headers=contracts.customer(customer))

    assert response.status_code == 200, response.text
    cover = response.json()
    [shown_site] = cover["sites"]
    assert (shown_site["id"], shown_site["contract_id"]) == (site, contract["id"])
    assert shown_site["next_visit"] is not None and shown_site["next_visit"]["due_on"].endswith("-01")
    [unit] = shown_site["equipment"]
    assert (unit["id"], unit["model"], unit["contract_id"]) == (covered_unit, "Carrier Ice 300", contract["id"])
    [terms] = cover["contracts"]
    assert [s["priority"] for s in terms["sla"]] == ["P1", "P2"]
    assert terms["sla"][0] == {"priority": "P1", "response_minutes": 120, "fix_minutes": 360}
    quota = terms["quotas"][0]
    assert (quota["included"], quota["used"], quota["left"]) == (6, 0, 6)
    for internal in ("45000", "monthly_fee", "CRM-4411", "criticality", "required_skills", "customer_id"):
        assert internal not in response.text


async def test_an_uncovered_site_says_so_and_nobody_else_reads_the_cover(contracts: Contracts) -> None:
    mine, my_site = await contracts.customer_with_site("Dzhankoi Grocer")
    theirs, their_site = await contracts.customer_with_site("Sudak Wines")
    await contracts.unit(their_site, model="Secret Model 9")

    mine_cover = (await contracts.client.get("/customer/cover", headers=contracts.customer(mine))).json()
    technician = await contracts.client.get(
        "/customer/cover", headers=contracts.keys.headers(Role.TECHNICIAN, technician_id=uuid.uuid4())
    )
    staff_unnamed = await contracts.client.get("/customer/cover", headers=contracts.keys.headers(Role.DISPATCHER))
    staff_named = await contracts.client.get(
        f"/customer/cover?customer_id={theirs}", headers=contracts.keys.headers(Role.DISPATCHER)
    )
    # a customer naming another customer still reads only its own
    sneaky = await contracts.client.get(f"/customer/cover?customer_id={theirs}", headers=contracts.customer(mine))

    assert [(s["id"], s["contract_id"], s["next_visit"]) for s in mine_cover["sites"]] == [(my_site, None, None)]
    assert mine_cover["contracts"] == []
    assert (technician.status_code, staff_unnamed.status_code) == (404, 422)
    assert [s["id"] for s in staff_named.json()["sites"]] == [their_site]
    assert "Secret Model 9" not in sneaky.text and their_site not in sneaky.text
