"""Filing for a unit: contracts' priority by the unit's criticality is used; a unit not at the site is refused."""

from __future__ import annotations

import uuid

from shared.events.requests import ServiceRequestCreated
from tests.requests.conftest import RequestsService


async def test_an_emergency_on_a_normal_unit_takes_contracts_p2(service: RequestsService) -> None:
    customer, unit = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer, priority="P2", units={unit})  # contracts: a normal unit, so P2
    filed = await service.file(customer, site, equipment_id=str(unit))
    assert filed["priority"] == "P2"
    assert service.contracts.queries[-1].priority is None  # nobody asked for one: contracts chose it
    [created] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(filed["id"]))
    assert created["priority"] == "P2" and created["equipment_id"] == str(unit)
    # a customer's "P1" is at most a hint: the contract decides (issue 16), and contracts is not told it
    asked = await service.file(customer, site, equipment_id=str(unit), priority="P1")
    assert asked["priority"] == "P2"
    assert service.contracts.queries[-1].priority is None


async def test_staff_filing_on_a_customers_behalf_may_set_the_priority(service: RequestsService) -> None:
    customer, unit = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer, priority="P2", units={unit})
    filed = await service.client.post(
        "/requests",
        params={"customer_id": str(customer)},
        headers={**service.dispatcher(), "Idempotency-Key": uuid.uuid4().hex},
        json={"site_id": str(site), "equipment_id": str(unit), "kind": "emergency", "priority": "P1"},
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["priority"] == "P1"


async def test_a_customer_cannot_file_a_planned_visit(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    refused = await service.client.post(
        "/requests",
        headers={**service.customer(customer), "Idempotency-Key": uuid.uuid4().hex},
        json={"site_id": str(site), "kind": "planned"},
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["kind"]
    assert (await service.client.get("/requests", headers=service.customer(customer))).json() == []


async def test_a_unit_that_is_not_at_the_site_is_refused_and_nothing_is_stored(service: RequestsService) -> None:
    customer, unit = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer, units={unit})
    headers = {**service.customer(customer), "Idempotency-Key": "unit-elsewhere"}
    body = {"site_id": str(site), "kind": "emergency", "equipment_id": str(uuid.uuid4())}
    refused = await service.client.post("/requests", headers=headers, json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == ["equipment_id"]
    assert (await service.client.get("/requests", headers=service.customer(customer))).json() == []
    # the key was not used up: the corrected request under it is filed
    corrected = await service.client.post("/requests", headers=headers, json={**body, "equipment_id": str(unit)})
    assert corrected.status_code == 201, corrected.text
    events = await service.published(ServiceRequestCreated.subject, lambda d: d["site_id"] == str(site))
    assert [e["equipment_id"] for e in events] == [str(unit)]
