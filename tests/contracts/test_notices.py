"""The sweep tells contract managers about contracts ending soon and visits overdue, each once."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.contracts.usecases.notices import NoticeSummary
from services.contracts.usecases.sweep import SweepSummary, sweep_once
from services.contracts.usecases.visits import GenerationSummary, regenerate_visits
from shared.events.contracts import ContractEndingSoon, VisitsOverdue
from shared.events.dispatch import AssignmentStatusChanged
from tests.contracts.conftest import Contracts
from tests.support.polling import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]


def _local_today(contracts: Contracts) -> date:
    return contracts.clock.now().astimezone(ZoneInfo("Europe/Simferopol")).date()  # the contracts' default zone


async def _active(contracts: Contracts, name: str, **fields: Any) -> tuple[str, str, dict[str, Any]]:
    customer_id, site_id = await contracts.customer_with_site(name)
    contract = await contracts.contract(customer_id, [site_id], **fields)
    response = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert response.status_code == 200, response.text
    return customer_id, site_id, contract


async def test_a_contract_ending_soon_is_announced_once_per_end_date(contracts: Contracts) -> None:
    today = _local_today(contracts)
    starts_on = (today - timedelta(days=100)).isoformat()
    customer_id, _, near = await _active(
        contracts, "Yalta Ice Rink", starts_on=starts_on, ends_on=(today + timedelta(days=20)).isoformat()
    )
    _, _, far = await _active(
        contracts, "Gurzuf Hotel", starts_on=starts_on, ends_on=(today + timedelta(days=45)).isoformat()
    )

    first = await sweep_once(contracts.db, 60, contracts.clock.now())
    assert first is not None and first.notices.ending_soon >= 1  # the near one (others' contracts may be due too)
    # a second run (or another replica) tells nobody again
    assert await sweep_once(contracts.db, 60, contracts.clock.now()) == SweepSummary(
        visits=GenerationSummary(contracts=first.visits.contracts), notices=NoticeSummary()
    )
    [told] = await contracts.outbox(ContractEndingSoon.subject, contract_id=near["id"])
    assert told == {
        "contract_id": near["id"],
        "customer_id": customer_id,
        "ends_on": (today + timedelta(days=20)).isoformat(),
        "days_left": 20,
    }
    assert await contracts.outbox(ContractEndingSoon.subject, contract_id=far["id"]) == []

    extended = (today + timedelta(days=25)).isoformat()
    response = await contracts.client.patch(
        f"/contracts/{near['id']}", headers=contracts.manager, json={"ends_on": extended}
    )
    assert response.status_code == 200, response.text
    await sweep_once(contracts.db, 60, contracts.clock.now())
    await sweep_once(contracts.db, 60, contracts.clock.now())
    told_twice = await contracts.outbox(ContractEndingSoon.subject, contract_id=near["id"])
    assert [(t["ends_on"], t["days_left"]) for t in told_twice] == [(told["ends_on"], 20), (extended, 25)]

    await sweep_once(contracts.db, 60, contracts.clock.now(), ending_notice_days=50)  # the window is a setting
    [far_told] = await contracts.outbox(ContractEndingSoon.subject, contract_id=far["id"])
    assert far_told["days_left"] == 45


async def test_overdue_visits_are_announced_when_their_number_grows(contracts: Contracts) -> None:
    now = contracts.clock.now()
    customer_id, site_id, contract = await _active(
        contracts, "Alupka Palace Cafe", starts_on=(now - timedelta(days=40)).date().isoformat()
    )
    await contracts.post(
        f"/contracts/{contract['id']}/schedules",
        {"site_id": site_id, "rrule": "FREQ=DAILY", "tolerance_days": 1, "duration_minutes": 60},
    )
    async with contracts.db.transaction() as session:  # visits planned ten days ago and never done
        await regenerate_visits(session, uuid.UUID(contract["id"]), now - timedelta(days=10), 6)

    async def overdue_now() -> int:
        health = (await contracts.client.get(f"/contracts/{contract['id']}/health", headers=contracts.manager)).json()
        return int(health["visits"]["overdue"])

    async def told() -> list[dict[str, Any]]:
        return await contracts.outbox(VisitsOverdue.subject, contract_id=contract["id"])

    await sweep_once(contracts.db, 60, contracts.clock.now())
    await sweep_once(contracts.db, 60, contracts.clock.now())
    overdue = await overdue_now()
    visits = (await contracts.client.get(f"/contracts/{contract['id']}/visits", headers=contracts.manager)).json()
    oldest = min(v["due_on"] for v in visits if v["status"] == "planned")
    assert overdue >= 5
    assert await told() == [
        {"contract_id": contract["id"], "customer_id": customer_id, "overdue_count": overdue, "oldest_due_on": oldest}
    ]

    done = next(v for v in visits if v["due_on"] == oldest)
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
    await eventually(overdue_now, lambda n: n == overdue - 1)
    await sweep_once(contracts.db, 60, contracts.clock.now())  # fewer overdue is no news
    assert len(await told()) == 1

    # four days on, the windows (the due day ± 1) of at least the next two days' visits have closed, whatever
    # the hour now is: before the visit time, today's visit was planned too
    days_on = now + timedelta(days=4)
    await sweep_once(contracts.db, 60, days_on)
    await sweep_once(contracts.db, 60, days_on)
    later = await told()
    assert len(later) == 2 and later[1]["overdue_count"] >= overdue + 1
    assert later[1]["oldest_due_on"] > oldest  # the oldest one was done
