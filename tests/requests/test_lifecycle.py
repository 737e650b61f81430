"""The lifecycle mirrored from dispatch events that really travel through JetStream into the running app."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import pytest

from shared.auth import Role
from shared.events.dispatch import AssignmentCreated, RequestUnplaceable
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated, SurveyInvited
from tests.requests.conftest import RequestsService

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

M = timedelta(minutes=1)


async def test_events_delivered_twice_and_out_of_order_give_the_true_timeline(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    booked_id, en_route_id, completed_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    technician = uuid.uuid4()
    booking = await service.dispatch.booked(
        request, at=t0 + 2 * M, eta=t0 + 45 * M, technician_id=technician, event_id=booked_id, first_name="Anna"
    )
    # dispatch's events arrive scrambled: en route and on site before the booking, everything twice
    await service.dispatch.moved(booking, "on_site", at=t0 + 40 * M, previous="en_route")
    await service.dispatch.moved(booking, "en_route", at=t0 + 10 * M, eta=t0 + 35 * M, event_id=en_route_id)
    await service.dispatch.booked(
        request,
        at=t0 + 2 * M,
        eta=t0 + 45 * M,
        technician_id=technician,
        assignment_id=booking.assignment_id,
        event_id=booked_id,
        msg_id="redelivered-1",
    )
    await service.dispatch.moved(
        booking, "en_route", at=t0 + 10 * M, eta=t0 + 35 * M, event_id=en_route_id, msg_id="redelivered-2"
    )
    await service.dispatch.moved(
        booking, "completed", at=t0 + 90 * M, previous="on_site", event_id=completed_id, outcome="replaced fan motor"
    )
    await service.dispatch.moved(booking, "completed", at=t0 + 90 * M, previous="on_site")  # re-sent, new id
    await service.dispatch.booked(
        request, at=t0 + 2 * M, eta=t0 + 45 * M, technician_id=technician, assignment_id=booking.assignment_id
    )  # re-sent, new id
    await service.drained()

    shown = await service.show(request["id"], customer)
    assert shown["status"] == "completed"
    assert (shown["technician_first_name"], shown["technician_id"]) == ("Anna", str(technician))
    assert datetime.fromisoformat(shown["eta"]) == t0 + 35 * M  # the estimate given en route, not the booking's
    assert [(e["status"], datetime.fromisoformat(e["at"]) - t0) for e in shown["timeline"]] == [
        ("new", timedelta(0)),
        ("assigned", 2 * M),
        ("en_route", 10 * M),
        ("eta_changed", 10 * M),
        ("on_site", 40 * M),
        ("completed", 90 * M),
        ("survey_invited", 90 * M),
    ]
    assert [
        (datetime.fromisoformat(c["at"]) - t0, datetime.fromisoformat(c["eta"]) - t0) for c in shown["eta_changes"]
    ] == [(2 * M, 45 * M), (10 * M, 35 * M)]
    invitations = await service.published(SurveyInvited.subject, lambda d: d["request_id"] == str(request["id"]))
    assert len(invitations) == 1


async def test_a_customer_cancels_until_en_route_then_only_a_dispatcher(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    early = await service.file(customer, site)
    await service.dispatch.booked(early, at=early["created_at"] + M, eta=early["created_at"] + 30 * M)
    await service.drained()
    cancelled = await service.client.post(
        f"/requests/{early['id']}/cancel", headers=service.customer(customer), json={"reason": "fixed it ourselves"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    [event] = await service.published(ServiceRequestCancelled.subject, lambda d: d["request_id"] == str(early["id"]))
    assert (event["cancelled_by"], event["reason"]) == ("customer", "fixed it ourselves")
    again = await service.client.post(f"/requests/{early['id']}/cancel", headers=service.customer(customer))
    assert again.status_code == 200  # cancelling twice is harmless

    late = await service.file(customer, site)
    booking = await service.dispatch.booked(late, at=late["created_at"] + M, eta=late["created_at"] + 30 * M)
    await service.dispatch.moved(booking, "en_route", at=late["created_at"] + 5 * M)
    await service.drained()
    refused = await service.client.post(f"/requests/{late['id']}/cancel", headers=service.customer(customer))
    assert refused.status_code == 409 and "dispatcher" in refused.json()["detail"]
    manager = await service.client.post(
        f"/requests/{late['id']}/cancel", headers=service.keys.headers(Role.CONTRACT_MANAGER)
    )
    assert manager.status_code == 403
    by_dispatcher = await service.client.post(f"/requests/{late['id']}/cancel", headers=service.dispatcher())
    assert by_dispatcher.status_code == 200 and by_dispatcher.json()["status"] == "cancelled"
    # dispatch confirming its own cancellation of the assignment does not reopen the request
    await service.dispatch.moved(booking, "cancelled", at=late["created_at"] + 6 * M, previous="en_route")
    await service.drained()
    assert (await service.show(late["id"], customer))["status"] == "cancelled"

    other = uuid.uuid4()
    hidden = await service.client.post(f"/requests/{late['id']}/cancel", headers=service.customer(other))
    assert hidden.status_code == 404


async def test_a_failed_visit_needing_parts_opens_one_linked_follow_up(service: RequestsService) -> None:
    customer, unit = uuid.uuid4(), uuid.uuid4()
    request = await service.file(
        customer,
        service.contracts.add_site(customer),
        equipment_id=str(unit),
        description="Display case compressor dead",
        contact={"name": "Marina", "phone": "+7 978 000 00 00"},
    )
    t0 = request["created_at"]
    booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 30 * M)
    await service.dispatch.moved(booking, "on_site", at=t0 + 28 * M)
    for _ in range(2):  # re-sent under a new event id: still one follow-up
        await service.dispatch.moved(booking, "failed", at=t0 + 60 * M, previous="on_site", outcome="needs_parts")
    await service.drained()

    original = await service.show(request["id"], customer)
    assert original["status"] == "follow_up"
    follow_up_id = original["follow_up_request_id"]
    assert follow_up_id is not None
    assert [e["status"] for e in original["timeline"]][-2:] == ["failed", "follow_up_opened"]
    follow_up = await service.show(uuid.UUID(follow_up_id), customer)
    assert (follow_up["follow_up_of"], follow_up["kind"], follow_up["status"]) == (str(request["id"]), "routine", "new")
    assert follow_up["equipment_id"] == str(unit) and follow_up["coverage"] == "covered"
    [created] = await service.published(
        ServiceRequestCreated.subject, lambda d: d.get("follow_up_of") == str(request["id"])
    )
    assert created["request_id"] == follow_up_id
    assert (created["contact_name"], created["contact_phone"]) == ("Marina", "+7 978 000 00 00")  # the same person
    assert created["address"] == "Moskovskaya St 12, Yalta"  # the same place
    history = (await service.client.get(f"/equipment/{unit}/requests", headers=service.customer(customer))).json()
    assert {r["id"] for r in history} == {str(request["id"]), follow_up_id}

    no_access = await service.file(customer, service.contracts.add_site(customer))
    booking = await service.dispatch.booked(no_access, at=no_access["created_at"] + M, eta=no_access["created_at"])
    await service.dispatch.moved(booking, "failed", at=no_access["created_at"] + 40 * M, outcome="no_access")
    await service.drained()
    shown = await service.show(no_access["id"], customer)
    assert shown["status"] == "failed" and shown["follow_up_request_id"] is None


async def test_reassignment_and_unplaceable_keep_the_customer_informed(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    await service.dispatch.publish(
        RequestUnplaceable(
            request_id=request["id"], customer_id=customer, reason="no free technician with refrigeration≥2"
        ),
        occurred_at=t0 + M,
    )
    await service.drained()
    shown = await service.show(request["id"], customer)
    assert (shown["status"], shown["unplaceable_reason"]) == ("triaged", "no free technician with refrigeration≥2")

    first = await service.dispatch.booked(request, at=t0 + 5 * M, eta=t0 + 40 * M, first_name="Oleg")
    await service.dispatch.moved(first, "cancelled", at=t0 + 7 * M)  # declined
    second = await service.dispatch.booked(request, at=t0 + 8 * M, eta=t0 + 50 * M, first_name="Ivan")
    await service.dispatch.moved(second, "accepted", at=t0 + 9 * M)
    await service.drained()
    shown = await service.show(request["id"], customer)
    assert (shown["status"], shown["technician_first_name"]) == ("assigned", "Ivan")
    assert datetime.fromisoformat(shown["eta"]) == t0 + 50 * M
    assert [e["status"] for e in shown["timeline"]] == [
        "new",
        "unplaceable",
        "assigned",
        "assignment_cancelled",
        "assigned",
        "accepted",
    ]


async def test_a_replan_moving_the_booking_reaches_the_customer_even_before_the_booking(
    service: RequestsService, database_url: str
) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    booking = AssignmentCreated(
        assignment_id=uuid.uuid4(),
        request_id=request["id"],
        customer_id=customer,
        technician_id=uuid.uuid4(),
        technician_first_name="Oleg",
        status="offered",
        planned_start=t0 + 40 * M,
        planned_end=t0 + 100 * M,
        eta=t0 + 40 * M,
        kind="emergency",
    )
    ivan = uuid.uuid4()
    await service.dispatch.rebooked(
        booking,
        at=t0 + 10 * M,
        technician_id=ivan,
        first_name="Ivan",
        eta=t0 + 55 * M,
        reason="Oleg's earlier job overran",
    )
    await service.dispatch.publish(booking, occurred_at=t0 + M)
    # a planned visit from contracts is booked under its visit id: not ours, and not a poison message either
    visit = AssignmentCreated(**{**booking.model_dump(), "request_id": uuid.uuid4(), "kind": "planned"})
    await service.dispatch.publish(visit)
    await service.dispatch.moved(visit, "en_route", at=t0)
    await service.drained()

    shown = await service.show(request["id"], customer)
    assert (shown["status"], shown["technician_first_name"], shown["technician_id"]) == ("assigned", "Ivan", str(ivan))
    assert datetime.fromisoformat(shown["eta"]) == t0 + 55 * M
    assert [e["status"] for e in shown["timeline"]] == ["new", "assigned", "reassigned", "eta_changed"]
    assert {e["detail"]["reason"] for e in shown["timeline"][2:]} == {"Oleg's earlier job overran"}
    conn = await asyncpg.connect(database_url)
    try:
        poisoned = await conn.fetchval(
            "SELECT count(*) FROM requests.dead_letters WHERE payload LIKE $1", f"%{visit.request_id}%"
        )
    finally:
        await conn.close()
    assert poisoned == 0


async def test_history_per_site_and_unit(service: RequestsService) -> None:
    customer, other, unit = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer)
    with_unit = []
    for _ in range(2):
        with_unit.append(await service.file(customer, site, equipment_id=str(unit)))
        service.clock.advance(timedelta(seconds=1))  # newest first needs time to pass between filings
    whole_site = await service.file(customer, site)
    by_site = (await service.client.get(f"/sites/{site}/requests", headers=service.customer(customer))).json()
    assert [r["id"] for r in by_site] == [str(r["id"]) for r in (whole_site, *reversed(with_unit))]
    by_unit = (await service.client.get(f"/equipment/{unit}/requests", headers=service.dispatcher())).json()
    assert {r["id"] for r in by_unit} == {str(r["id"]) for r in with_unit}
    assert (await service.client.get(f"/sites/{site}/requests", headers=service.customer(other))).json() == []
