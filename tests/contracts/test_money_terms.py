"""A contract's money terms per priority (issue 17) on the real database: written and read through the contract API,
validated (422 naming the field), and carried to dispatch in the entitlement answer and the planned-visit events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.events.contracts import VisitPlanned
from tests.contracts.conftest import Contracts

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]

P1 = {"priority": "P1", "response_minutes": 240, "fix_minutes": 480, "late_penalty_per_hour": "250.00"}
P4 = {"priority": "P4", "response_minutes": 4800, "fix_minutes": 9600, "late_penalty_per_hour": 20, "visit_value": 900}


async def _live_contract(contracts: Contracts, name: str, **fields: Any) -> tuple[str, str, dict[str, Any]]:
    customer_id, site_id = await contracts.customer_with_site(name)
    starts_on = (contracts.clock.now() - timedelta(days=30)).date().isoformat()
    contract = await contracts.contract(customer_id, [site_id], starts_on=starts_on, **fields)
    activated = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert activated.status_code == 200, activated.text
    return customer_id, site_id, contract


async def test_money_terms_are_kept_per_priority_and_validated(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Kerch Fish Market")
    for bad, field in (
        ({**P1, "late_penalty_per_hour": -1}, "sla.0.late_penalty_per_hour"),
        ({**P1, "visit_value": "12.345"}, "sla.0.visit_value"),
        ({**P1, "visit_value": "lots"}, "sla.0.visit_value"),
    ):
        refused = await contracts.client.post(
            "/contracts",
            headers=contracts.manager,
            json={
                "customer_id": customer_id,
                "contract_type": "full_maintenance",
                "starts_on": "2026-01-01",
                "site_ids": [site_id],
                "sla": [bad],
            },
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == [field]

    contract = await contracts.contract(customer_id, [site_id], sla=[P1, P4])
    shown = (await contracts.client.get(f"/contracts/{contract['id']}", headers=contracts.manager)).json()
    terms = {t["priority"]: (t["late_penalty_per_hour"], t["visit_value"]) for t in shown["sla"]}
    assert terms == {"P1": ("250.00", None), "P4": ("20.00", "900.00")}

    plain = await contracts.contract(customer_id, [site_id], starts_on="2027-01-01")  # none given: none stored
    shown = (await contracts.client.get(f"/contracts/{plain['id']}", headers=contracts.manager)).json()
    assert [(t["late_penalty_per_hour"], t["visit_value"]) for t in shown["sla"]] == [(None, None)]


async def test_the_entitlement_answer_carries_the_money_of_the_requests_priority(contracts: Contracts) -> None:
    customer_id, site_id, _ = await _live_contract(contracts, "Yevpatoria Ice Works", sla=[P1, P4])
    at = contracts.clock.now().isoformat()
    answer = (
        await contracts.client.get(
            "/entitlement", headers=contracts.manager, params={"site_id": site_id, "kind": "emergency", "at": at}
        )
    ).json()
    assert answer["priority"] == "P1"
    assert (answer["late_penalty_per_hour"], answer["visit_value"]) == (250.0, None)
    routine = (
        await contracts.client.get(
            "/entitlement",
            headers=contracts.manager,
            params={"site_id": site_id, "kind": "routine", "priority": "P4", "at": at},
        )
    ).json()
    assert (routine["late_penalty_per_hour"], routine["visit_value"]) == (20.0, 900.0)
    theirs = (
        await contracts.client.get(
            "/entitlement",
            headers=contracts.customer(customer_id),
            params={"site_id": site_id, "kind": "routine", "priority": "P4", "at": at},
        )
    ).json()
    assert theirs["covered"] is True and (theirs["late_penalty_per_hour"], theirs["visit_value"]) == (None, None)


async def test_planned_visits_carry_the_money_of_their_priority(contracts: Contracts) -> None:
    _, site_id, contract = await _live_contract(contracts, "Alushta Bakery", sla=[P1, P4])
    await contracts.post(
        f"/contracts/{contract['id']}/schedules",
        {"site_id": site_id, "rrule": "FREQ=WEEKLY;BYDAY=MO", "tolerance_days": 2, "duration_minutes": 60},
    )
    await contracts.post("/visits/generate", {"contract_id": contract["id"]}, expect=200)
    announced = await contracts.outbox(VisitPlanned.subject, contract_id=contract["id"])
    assert announced and {e["priority"] for e in announced} == {"P4"}
    assert {(e["late_penalty_per_hour"], e["visit_value"]) for e in announced} == {(20.0, 900.0)}
