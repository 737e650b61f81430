"""A technician reads the site, units and unit history of the jobs they are booked on (the technician app caches
them with the day), and nothing at sites where someone else goes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.auth import Role
from shared.events.dispatch import AssignmentChanged, AssignmentCreated
from tests.contracts.conftest import Contracts
from tests.contracts.test_visits import _maintained_site, _visits
from tests.support.polling import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]


async def test_the_booked_technician_reads_the_site_and_its_units_and_the_one_reassigned_away_no_longer(
    contracts: Contracts,
) -> None:
    customer_id, site_id, units, contract, _ = await _maintained_site(contracts, "Yalta Ice Cream Parlour")
    visit = (await _visits(contracts, contract["id"]))[0]
    assignment, anna, oleg = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    as_anna = contracts.keys.headers(Role.TECHNICIAN, technician_id=anna)
    as_oleg = contracts.keys.headers(Role.TECHNICIAN, technician_id=oleg)
    assert (await contracts.client.get(f"/sites/{site_id}", headers=as_anna)).status_code == 404  # not booked yet

    now = contracts.clock.now()
    common = {
        "assignment_id": assignment,
        "request_id": uuid.UUID(visit["id"]),
        "customer_id": uuid.UUID(customer_id),
        "planned_start": now,
        "planned_end": now + timedelta(hours=1),
        "eta": now,
    }
    await contracts.publish(
        AssignmentCreated(**common, technician_id=anna, technician_first_name="Anna", status="offered")  # type: ignore[arg-type]
    )

    async def site_for_anna() -> int:
        return (await contracts.client.get(f"/sites/{site_id}", headers=as_anna)).status_code

    await eventually(site_for_anna, lambda status: status == 200, what="the booking reaches contracts")
    site = (await contracts.client.get(f"/sites/{site_id}", headers=as_anna)).json()
    assert site["access_hours"]["mon"] == [{"start": "08:00:00", "end": "20:00:00"}]
    listed = (await contracts.client.get(f"/sites/{site_id}/equipment", headers=as_anna)).json()
    assert sorted(u["id"] for u in listed) == sorted(units)
    unit = await contracts.client.get(f"/equipment/{units[0]}", headers=as_anna)
    assert unit.status_code == 200 and unit.json()["serial"]
    history = await contracts.client.get(f"/equipment/{units[0]}/history", headers=as_anna)
    assert [h["technician_id"] for h in history.json()] == [str(anna)]
    assert (await contracts.client.get(f"/equipment/{units[0]}", headers=as_oleg)).status_code == 404

    contracts.clock.advance(timedelta(minutes=10))  # a dispatcher moves it a little later
    await contracts.publish(
        AssignmentChanged(  # type: ignore[arg-type]
            **common,
            technician_id=oleg,
            technician_first_name="Oleg",
            previous_technician_id=anna,
            status="offered",
            previous_eta=now,
            reason="reassigned by a dispatcher",
        )
    )
    await eventually(site_for_anna, lambda status: status == 404, what="the reassignment reaches contracts")
    assert (await contracts.client.get(f"/equipment/{units[0]}/history", headers=as_anna)).status_code == 404
    assert (await contracts.client.get(f"/equipment/{units[0]}", headers=as_oleg)).status_code == 200
    other_customer = contracts.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4())
    assert (await contracts.client.get(f"/sites/{site_id}", headers=other_customer)).status_code == 404
