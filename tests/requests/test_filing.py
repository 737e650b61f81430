"""Filing through the API: idempotency, coverage flags, contracts unavailable, ownership."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest

from shared.events.requests import ServiceRequestCreated
from tests.requests.conftest import RequestsService

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it


async def test_a_covered_emergency_gets_its_sla_and_reaches_dispatch(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, response_minutes=240, fix_minutes=480)
    filed = await service.file(customer, site, contact={"name": "Marina", "phone": "+7 978 000 00 00"})
    assert (filed["status"], filed["coverage"], filed["covered"], filed["billable"]) == ("new", "covered", True, False)
    assert filed["priority"] == "P1"
    assert datetime.fromisoformat(filed["response_due"]) == filed["created_at"] + timedelta(minutes=240)
    assert datetime.fromisoformat(filed["fix_due"]) == filed["created_at"] + timedelta(minutes=480)
    [created] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(filed["id"]))
    assert created["covered"] is True and created["location"] == {"lat": 44.499, "lon": 34.16}
    assert created["required_skills"] == [{"skill": "refrigeration", "min_level": 2}]
    assert (created["contact_name"], created["contact_phone"]) == ("Marina", "+7 978 000 00 00")  # for the technician
    shown = await service.show(filed["id"], customer)
    assert [e["status"] for e in shown["timeline"]] == ["new"]


async def test_duplicate_posts_with_one_key_create_one_request(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    headers = {**service.customer(customer), "Idempotency-Key": "burst-1"}
    body = {"site_id": str(site), "kind": "emergency", "description": "Ice machine leaking"}

    responses = await asyncio.gather(*(service.client.post("/requests", headers=headers, json=body) for _ in range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    again = await service.client.post("/requests", headers=headers, json=body)
    assert again.status_code == 200 and again.json()["id"] == responses[0].json()["id"]
    listed = await service.client.get("/requests", params={"site_id": str(site)}, headers=service.customer(customer))
    assert len(listed.json()) == 1
    created = await service.published(ServiceRequestCreated.subject, lambda d: d["site_id"] == str(site))
    assert len(created) == 1


async def test_a_key_reused_for_another_request_is_refused_naming_the_key(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    await service.file(customer, site, key="reused")
    headers = {**service.customer(customer), "Idempotency-Key": "reused"}
    changed = await service.client.post(
        "/requests", headers=headers, json={"site_id": str(site), "kind": "emergency", "description": "other"}
    )
    assert changed.status_code == 422
    assert changed.headers["content-type"] == "application/problem+json"
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"
    missing = await service.client.post(
        "/requests", headers=service.customer(customer), json={"site_id": str(site), "kind": "emergency"}
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_uncovered_and_over_quota_requests_are_accepted_and_flagged(service: RequestsService) -> None:
    customer = uuid.uuid4()
    uncovered = await service.file(customer, service.contracts.add_site(customer, covered=False))
    assert (uncovered["coverage"], uncovered["covered"], uncovered["billable"]) == ("not_covered", False, True)
    assert "coverage_reason" not in uncovered  # the customer's answer; staff read why
    uncovered = await service.show(uncovered["id"], customer)
    assert uncovered["coverage_reason"] == "no active contract covers this site"
    assert uncovered["response_due"] is None
    over_quota = await service.file(customer, service.contracts.add_site(customer, quota_exceeded=True))
    assert (over_quota["coverage"], over_quota["covered"], over_quota["billable"]) == ("quota_exceeded", True, True)
    assert over_quota["quota_exceeded"] is True
    assert "quota" in (await service.show(over_quota["id"], customer))["coverage_reason"]
    listed = (await service.client.get("/requests", headers=service.customer(customer))).json()
    assert {r["id"] for r in listed} == {str(uncovered["id"]), str(over_quota["id"])}
    events = await service.published(ServiceRequestCreated.subject, lambda d: d["customer_id"] == str(customer))
    assert {(e["covered"], e["billable"], e["quota_exceeded"]) for e in events} == {
        (False, True, False),
        (True, True, True),
    }


async def test_when_contracts_does_not_answer_nothing_is_filed_and_a_retry_succeeds(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    headers = {**service.customer(customer), "Idempotency-Key": "while-contracts-down"}
    body = {"site_id": str(site), "kind": "emergency"}
    await service.contracts.stop()
    refused = await service.client.post("/requests", headers=headers, json=body)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "7"
    assert "Idempotency-Key" in refused.json()["detail"]
    assert (await service.client.get("/requests", headers=service.customer(customer))).json() == []
    await service.contracts.start()
    retried = await service.client.post("/requests", headers=headers, json=body)
    assert retried.status_code == 201


async def test_a_site_of_another_customer_is_refused(service: RequestsService) -> None:
    owner, intruder = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(owner)
    response = await service.client.post(
        "/requests",
        headers={**service.customer(intruder), "Idempotency-Key": "x"},
        json={"site_id": str(site), "kind": "emergency"},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "site_id"


async def test_routine_requests_carry_preferred_windows_emergencies_do_not(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, priority="P3")
    start = service.clock.now().replace(microsecond=0) + timedelta(days=2)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()}
    routine = await service.file(customer, site, kind="routine", preferred_windows=[window])
    assert routine["priority"] == "P3"
    assert [datetime.fromisoformat(routine["preferred_windows"][0][k]) for k in ("start", "end")] == [
        start,
        start + timedelta(hours=4),
    ]
    [event] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(routine["id"]))
    assert len(event["preferred_windows"]) == 1
    refused = await service.client.post(
        "/requests",
        headers={**service.customer(customer), "Idempotency-Key": "w"},
        json={"site_id": str(site), "kind": "emergency", "preferred_windows": [window]},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "preferred_windows"


async def test_staff_file_for_a_named_customer_and_customers_see_only_their_own(service: RequestsService) -> None:
    customer, other = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer)
    response = await service.client.post(
        "/requests",
        params={"customer_id": str(customer)},
        headers={**service.dispatcher(), "Idempotency-Key": "phone-call-1"},
        json={"site_id": str(site)},
    )
    assert response.status_code == 201 and response.json()["customer_id"] == str(customer)
    request_id = response.json()["id"]
    assert (await service.client.get(f"/requests/{request_id}", headers=service.customer(other))).status_code == 404
    assert (await service.client.get(f"/requests/{request_id}", headers=service.customer(customer))).status_code == 200


async def test_the_request_carries_the_site_address_and_the_site_contact_when_it_names_nobody(
    service: RequestsService,
) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, contact_name="Oksana", contact_phone="+7 978 555 66 77")
    nobody = await service.file(customer, site, contact={"email": "shop@example.test"})
    named = await service.file(customer, site, contact={"name": "Marina"})
    events = {
        d["request_id"]: d
        for d in await service.published(ServiceRequestCreated.subject, lambda d: d["site_id"] == str(site), at_least=2)
    }
    fallback, own = events[str(nobody["id"])], events[str(named["id"])]
    assert fallback["address"] == own["address"] == "Moskovskaya St 12, Yalta"
    assert (fallback["contact_name"], fallback["contact_phone"]) == ("Oksana", "+7 978 555 66 77")
    assert (own["contact_name"], own["contact_phone"]) == ("Marina", "")  # never mixed with the site's
    shown = await service.show(nobody["id"], customer)
    assert shown["contact"] == {"name": "Oksana", "phone": "+7 978 555 66 77", "email": "shop@example.test"}

    bare = service.contracts.add_site(customer)  # a site naming nobody either: the request stays without one
    filed = await service.file(customer, bare)
    [created] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(filed["id"]))
    assert (created["contact_name"], created["contact_phone"], created["address"]) == (
        "",
        "",
        "Moskovskaya St 12, Yalta",
    )


async def test_contracts_are_asked_on_behalf_of_the_request_so_a_retry_reserves_no_second_unit(
    service: RequestsService,
) -> None:
    """Contracts reserve a unit of quota per request id: every try of one (customer, key) must ask for the same id,
    the id the request is then filed under; another key or another customer asks for another."""
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    headers = {**service.customer(customer), "Idempotency-Key": "retry-me"}
    body = {"site_id": str(site), "kind": "emergency", "description": "Display case at 12 C"}
    responses = await asyncio.gather(*(service.client.post("/requests", headers=headers, json=body) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200] * 4 + [201]
    filed_id = uuid.UUID(responses[0].json()["id"])
    asked = [q for q in service.contracts.queries if q.site_id == site]
    assert asked and {(q.request_id, q.customer_id) for q in asked} == {(filed_id, customer)}
    await service.file(customer, site, key="another")
    other = [q.request_id for q in service.contracts.queries if q.site_id == site and q.request_id != filed_id]
    assert len(other) == 1 and other[0] is not None


async def test_a_routine_request_is_not_due_before_the_customers_own_earliest_window(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, priority="P3", response_minutes=240, fix_minutes=480)
    now = service.clock.now().replace(microsecond=0)
    later = now + timedelta(days=2)  # the customer can only let us in the day after tomorrow
    sooner = now + timedelta(days=3)
    windows = [
        {"start": sooner.isoformat(), "end": (sooner + timedelta(hours=2)).isoformat()},
        {"start": later.isoformat(), "end": (later + timedelta(hours=3)).isoformat()},
    ]
    routine = await service.file(customer, site, kind="routine", preferred_windows=windows)
    # by the contract alone: due 4 h after filing, long before anybody may come in
    assert datetime.fromisoformat(routine["response_due"]) == later + timedelta(hours=3)  # the earliest window's end
    assert datetime.fromisoformat(routine["fix_due"]) == later + timedelta(hours=3) + timedelta(hours=4)
    [event] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(routine["id"]))
    assert datetime.fromisoformat(event["response_due"]) == later + timedelta(hours=3)

    plain = await service.file(customer, site, kind="routine")  # no window: the contract's clock as it is
    assert datetime.fromisoformat(plain["response_due"]) == now + timedelta(hours=4)
