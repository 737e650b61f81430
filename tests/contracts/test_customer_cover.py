"""The customer portal's cover: my sites and units, the contract serving each now, SLA per priority, quotas used
and left, the next planned visit; never another customer's, never prices or internal references."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from shared.auth import Role
from shared.events.dispatch import AssignmentStatusChanged
from tests.contracts.conftest import Contracts
from tests.contracts.test_visits import _maintained_site
from tests.support.polling import eventually

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


async def test_the_history_lists_the_planned_visits_that_took_place(contracts: Contracts) -> None:
    customer_id, site_id, _, contract, _ = await _maintained_site(contracts, "Feodosia Bakery", rrule="FREQ=DAILY")
    stranger, _ = await contracts.customer_with_site("Saki Dairy")
    now = contracts.clock.now()
    path = f"/contracts/{contract['id']}/visits"
    visits = (await contracts.client.get(path, headers=contracts.manager, params={"limit": 200})).json()
    done = next(v for v in visits if datetime.fromisoformat(v["window_start"]) < now)  # under way now
    await contracts.publish(
        AssignmentStatusChanged(
            assignment_id=uuid.uuid4(),
            request_id=uuid.UUID(done["id"]),
            customer_id=uuid.UUID(customer_id),
            technician_id=uuid.uuid4(),
            status="completed",
            previous_status="on_site",
            at=now,
        )
    )

    async def history() -> list[dict[str, Any]]:
        response = await contracts.client.get("/customer/visits", headers=contracts.customer(customer_id))
        return response.json()  # type: ignore[no-any-return]

    [shown] = await eventually(history, lambda found: len(found) == 1)
    assert (shown["id"], shown["site_id"], shown["status"]) == (done["id"], site_id, "done")
    assert set(shown) == {"id", "site_id", "equipment_ids", "due_on", "window_start", "window_end", "status"}
    theirs = await contracts.client.get("/customer/visits", headers=contracts.customer(stranger))
    assert theirs.json() == []


async def test_the_cover_comes_in_pages_of_sites(contracts: Contracts) -> None:
    customer, first = await contracts.customer_with_site("Evpatoria Ices")
    for n in range(2):
        await contracts.post(
            f"/customers/{customer}/sites",
            {"name": f"Kiosk {n}", "address": f"Beach {n}", "location": {"lat": 45.19, "lon": 33.37}},
        )
    me = contracts.customer(customer)

    every = await contracts.client.get("/customer/cover", headers=me)
    page = await contracts.client.get("/customer/cover", params={"limit": 2, "offset": 1}, headers=me)
    too_many = await contracts.client.get("/customer/cover", params={"limit": 201}, headers=me)

    ids = [s["id"] for s in every.json()["sites"]]
    assert len(ids) == 3 and first in ids
    assert [s["id"] for s in page.json()["sites"]] == ids[1:]
    assert too_many.status_code == 422
