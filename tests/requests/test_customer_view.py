"""The customer portal's reads: a customer's own requests only, as an allow-list (no staff ids, no internal
reasons), in the listing, the detail and the live stream."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from tests.requests.conftest import RequestsService
from tests.requests.test_stream import _frames, _read, second_replica

M = timedelta(minutes=1)
SICK = "Oleg is off sick; moved behind Kerch, Lenina 5"


@pytest.mark.parametrize("path", ["/customer/requests/{id}", "/requests/{id}"])  # the portal's, and the shared one
async def test_the_customer_sees_its_request_without_staff_ids_or_internal_reasons(
    service: RequestsService, path: str
) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 40 * M, first_name="Oleg")
    anna = uuid.uuid4()
    await service.dispatch.rebooked(booking, at=t0 + 2 * M, technician_id=anna, first_name="Anna", eta=t0 + 50 * M,
                                    reason=SICK)  # fmt: skip
    await service.drained()

    response = await service.client.get(path.format(id=request["id"]), headers=service.customer(customer))

    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["technician_first_name"] == "Anna"
    assert datetime.fromisoformat(shown["eta"]) == t0 + 50 * M
    assert shown["may_cancel"] is True
    assert [e["status"] for e in shown["timeline"]] == ["new", "assigned", "reassigned", "eta_changed"]
    text = response.text
    for internal in (SICK, str(anna), str(booking.technician_id), str(booking.assignment_id), "filed_by"):
        assert internal not in text
    for field in ("technician_id", "coverage_reason", "unplaceable_reason", "contract_id", "customer_id"):
        assert field not in shown
    assert shown["timeline"][2]["detail"] == {"technician_first_name": "Anna"}


async def test_a_dispatchers_cancellation_reason_stays_inside_the_customers_own_is_shown(
    service: RequestsService,
) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    by_company = await service.file(customer, site)
    by_customer = await service.file(customer, site)
    await service.client.post(
        f"/requests/{by_company['id']}/cancel", headers=service.dispatcher(), json={"reason": "duplicate of R-17"}
    )
    await service.client.post(
        f"/requests/{by_customer['id']}/cancel", headers=service.customer(customer), json={"reason": "fixed it"}
    )

    company = await service.client.get(f"/customer/requests/{by_company['id']}", headers=service.customer(customer))
    own = await service.client.get(f"/customer/requests/{by_customer['id']}", headers=service.customer(customer))

    assert company.json()["timeline"][-1] == {**company.json()["timeline"][-1], "detail": {"by": "company"}}
    assert "duplicate of R-17" not in company.text
    assert own.json()["timeline"][-1]["detail"] == {"by": "customer", "reason": "fixed it"}
    assert own.json()["may_cancel"] is False


async def test_another_customer_sees_nothing_of_it(service: RequestsService) -> None:
    customer, stranger = uuid.uuid4(), uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    await service.file(stranger, service.contracts.add_site(stranger))

    detail = await service.client.get(f"/customer/requests/{request['id']}", headers=service.customer(stranger))
    listing = await service.client.get("/customer/requests", headers=service.customer(stranger))
    mine = await service.client.get("/customer/requests", headers=service.customer(customer))

    assert detail.status_code == 404
    assert str(request["id"]) not in listing.text and len(listing.json()) == 1
    assert [r["id"] for r in mine.json()] == [str(request["id"])]


async def test_the_customers_stream_carries_only_the_allow_list(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    path = f"/customer/requests/{request['id']}/stream"
    async with second_replica(service) as url, httpx.AsyncClient(base_url=url, timeout=None) as client:
        assert (await client.get(path, headers=service.customer(uuid.uuid4()))).status_code == 404
        async with client.stream("GET", path, headers=service.customer(customer)) as response:
            frames = _frames(response)
            [filed] = await _read(frames, 1)
            assert filed["data"]["detail"] == {} and filed["data"]["request"]["may_cancel"] is True
            booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 40 * M, first_name="Oleg")
            [assigned] = await _read(frames, 1)
            assert set(assigned["data"]["detail"]) == {"technician_first_name", "eta"}
            await service.dispatch.rebooked(
                booking, at=t0 + 2 * M, technician_id=uuid.uuid4(), first_name="Anna", eta=t0 + 50 * M, reason=SICK
            )
            reassigned, eta_changed = await _read(frames, 2)
            assert reassigned["data"]["detail"] == {"technician_first_name": "Anna"}
            assert set(eta_changed["data"]["detail"]) == {"eta"}
            assert "technician_id" not in reassigned["data"]["request"]


async def test_a_customer_files_once_and_cancels_through_the_portals_endpoints(service: RequestsService) -> None:
    customer, stranger = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer)
    body = {"site_id": str(site), "kind": "emergency", "description": "Ice machine leaking"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    mine = service.customer(customer)

    filed = await service.client.post("/customer/requests", headers={**mine, **key}, json=body)
    again = await service.client.post("/customer/requests", headers={**mine, **key}, json=body)
    through_staff_path = await service.client.post("/requests", headers={**mine, **key}, json=body)
    by_staff = await service.client.post("/customer/requests", headers={**service.dispatcher(), **key}, json=body)
    theirs = await service.client.post("/customer/requests", headers={**service.customer(stranger), **key}, json=body)

    assert (filed.status_code, again.status_code, through_staff_path.status_code) == (201, 200, 200)
    assert filed.json()["id"] == again.json()["id"] == through_staff_path.json()["id"]
    assert filed.headers["Location"] == f"/customer/requests/{filed.json()['id']}"
    assert "technician_id" not in filed.json() and "coverage_reason" not in filed.json()
    assert by_staff.status_code == 403
    assert theirs.status_code == 422 and "no such site" in theirs.text  # not its site: nothing of it is told

    request = {**filed.json(), "id": uuid.UUID(filed.json()["id"]), "customer_id": customer}
    booking = await service.dispatch.booked(request, at=service.clock.now(), eta=service.clock.now() + 40 * M)
    await service.drained()
    path = f"/customer/requests/{request['id']}/cancel"
    refused = await service.client.post(path, headers=service.customer(stranger), json={"reason": "x"})
    cancelled = await service.client.post(path, headers=mine, json={"reason": "fixed it ourselves"})

    assert refused.status_code == 404
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["may_cancel"] is False
    assert str(booking.technician_id) not in cancelled.text


STAFF_FIELDS = ("customer_id", "technician_id", "coverage_reason", "contract_id", "unplaceable_reason")


async def test_a_customer_calling_the_shared_routes_gets_the_customers_view_in_every_answer(
    service: RequestsService,
) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, covered=False)
    filed = await service.client.post(
        "/requests",
        headers={**service.customer(customer), "Idempotency-Key": uuid.uuid4().hex},
        json={"site_id": str(site), "kind": "emergency", "description": "Cold room at +9 °C"},
    )
    assert filed.status_code == 201 and filed.json()["coverage"] == "not_covered"
    listed = await service.client.get("/requests", headers=service.customer(customer))
    history = await service.client.get(f"/sites/{site}/requests", headers=service.customer(customer))
    cancelled = await service.client.post(
        f"/requests/{filed.json()['id']}/cancel", headers=service.customer(customer), json={"reason": "fixed it"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["may_cancel"] is False
    for answer in (filed.json(), *listed.json(), *history.json(), cancelled.json()):
        assert not set(STAFF_FIELDS) & answer.keys(), answer
    staff = (await service.client.get(f"/requests/{filed.json()['id']}", headers=service.dispatcher())).json()
    assert staff["coverage_reason"] == "no active contract covers this site"  # staff still read the whole record


async def test_the_shared_stream_gives_a_customer_the_customers_entries(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 40 * M, first_name="Oleg")
    await service.dispatch.rebooked(booking, at=t0 + 2 * M, technician_id=uuid.uuid4(), first_name="Anna",
                                    eta=t0 + 50 * M, reason=SICK)  # fmt: skip
    await service.drained()
    async with second_replica(service) as url, httpx.AsyncClient(base_url=url, timeout=None) as client:
        path = f"/requests/{request['id']}/stream"
        async with client.stream("GET", path, headers=service.customer(customer)) as response:
            assert response.status_code == 200
            frames = await _read(_frames(response), 4)
    text = str(frames)
    assert SICK not in text and str(booking.technician_id) not in text and "technician_id" not in text
    assert frames[2]["data"]["detail"] == {"technician_first_name": "Anna"}
