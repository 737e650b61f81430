"""A contract's planned visit is the customer's request of kind "planned": tracked from dispatch's events, rated
afterwards, counted in the KPIs (on time against the promised ETA; no response time), and moved or cancelled only
by its contract. Contracts' and dispatch's events through the real JetStream, the app's API, its PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from shared.auth import Role
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.events.dispatch import AssignmentCreated
from shared.events.requests import SurveyInvited
from tests.requests.conftest import RequestsService, publish_event

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

M = timedelta(minutes=1)


def planned_visit(service: RequestsService, customer: uuid.UUID, unit: uuid.UUID) -> VisitPlanned:
    opens = service.clock.now() + 60 * M
    return VisitPlanned(
        visit_id=uuid.uuid4(),
        contract_id=uuid.uuid4(),
        customer_id=customer,
        site_id=uuid.uuid4(),
        equipment_ids=[unit],
        location=GeoPoint(lat=44.95, lon=34.1),
        due_on=opens.date().isoformat(),
        window_start=opens,
        window_end=opens + 240 * M,
        duration_minutes=45,
        skills=[SkillNeed(skill="refrigeration", min_level=2)],
        address="Kirova 7, Simferopol",
        site_contact_name="Marina",
    )


async def test_a_planned_visit_is_tracked_rated_and_counted_like_a_request(service: RequestsService) -> None:
    customer, unit, technician = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    visit = planned_visit(service, customer, unit)
    await publish_event(service.js, visit, service.clock.now())
    await service.drained()

    shown = await service.show(visit.visit_id, customer)
    assert (shown["kind"], shown["status"], shown["equipment_id"]) == ("planned", "new", str(unit))
    [window] = shown["preferred_windows"]
    assert shown["response_due"] is None and shown["fix_due"] is None
    assert (datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])) == (
        visit.window_start,
        visit.window_end,
    )

    # dispatch books it under the visit's id; the technician comes 10 minutes past the promised ETA and finishes
    t0 = visit.window_start
    booked = AssignmentCreated(
        assignment_id=uuid.uuid4(),
        request_id=visit.visit_id,
        customer_id=customer,
        technician_id=technician,
        technician_first_name="Anna",
        status="offered",
        planned_start=t0 + 30 * M,
        planned_end=t0 + 75 * M,
        eta=t0 + 30 * M,
        kind="planned",
    )
    await service.dispatch.publish(booked, occurred_at=t0 - 60 * M)
    await service.dispatch.moved(booked, "accepted", at=t0)
    await service.dispatch.moved(booked, "en_route", at=t0 + 20 * M, previous="accepted")
    await service.dispatch.moved(booked, "on_site", at=t0 + 40 * M, previous="en_route")
    await service.dispatch.moved(booked, "completed", at=t0 + 85 * M, previous="on_site")
    [invitation] = await service.published(SurveyInvited.subject, lambda d: d["request_id"] == str(visit.visit_id))
    assert invitation["customer_id"] == str(customer)
    rated = await service.client.post(
        f"/requests/{visit.visit_id}/survey", headers=service.customer(customer), json={"csat": 5, "nps": 9}
    )
    assert rated.status_code == 201, rated.text

    await service.file(customer, service.contracts.add_site(customer))  # an emergency beside it, not yet served
    window = {"customer_id": str(customer), "from": (t0 - 60 * M).isoformat(), "to": (t0 + 60 * M).isoformat()}
    staff = service.keys.headers(Role.CONTRACT_MANAGER)
    both = await service.client.get("/kpis", params=window, headers=staff)
    assert [r["requests"] for r in both.json()["rows"]] == [2]
    report = await service.client.get("/kpis", params={**window, "kind": "planned"}, headers=staff)
    assert report.status_code == 200, report.text
    [row] = report.json()["rows"]
    assert row["requests"] == 1
    assert (row["on_time_arrival"]["count"], row["on_time_arrival"]["hits"]) == (1, 1)  # within the 15 min
    assert row["eta_late_median_minutes"] == 10.0
    assert (row["first_time_fix"]["count"], row["first_time_fix"]["hits"]) == (1, 1)
    assert row["response_sla"]["count"] == 0 and row["mean_response_minutes"] is None  # a schedule, not a call
    assert (row["csat_count"], row["csat_mean"], row["nps"]) == (1, 5.0, 100.0)


async def test_a_planned_visit_is_cancelled_by_its_contract_not_by_a_request_cancellation(
    service: RequestsService,
) -> None:
    customer = uuid.uuid4()
    visit = planned_visit(service, customer, uuid.uuid4())
    await publish_event(service.js, visit, service.clock.now())
    await service.drained()

    for headers in (service.customer(customer), service.dispatcher()):
        refused = await service.client.post(
            f"/requests/{visit.visit_id}/cancel", headers=headers, json={"reason": "not needed"}
        )
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "contract's schedule" in refused.json()["detail"]

    cancelled = VisitCancelled(
        visit_id=visit.visit_id, contract_id=visit.contract_id, reason="contract suspended", customer_id=customer
    )
    await publish_event(service.js, cancelled, service.clock.now())
    await service.drained()
    shown = await service.show(visit.visit_id, customer)
    assert shown["status"] == "cancelled"
    seen_by_customer = await service.client.get(f"/requests/{visit.visit_id}", headers=service.customer(customer))
    assert seen_by_customer.json()["timeline"][-1]["status"] == "cancelled"
    assert seen_by_customer.json()["timeline"][-1]["detail"] == {"by": "company"}


async def test_a_visit_s_events_apply_in_the_order_contracts_published_them(service: RequestsService) -> None:
    """Planned, moved and cancelled at once: one consumer reads them in order, so the request ends cancelled with
    the new window (with a consumer per event, the cancellation could come first and find nothing to cancel)."""
    customer = uuid.uuid4()
    visit = planned_visit(service, customer, uuid.uuid4())
    a_day_later = {"window_start": visit.window_start + 1440 * M, "window_end": visit.window_end + 1440 * M}
    moved = VisitRescheduled(**{**visit.model_dump(), **a_day_later})
    cancelled = VisitCancelled(visit_id=visit.visit_id, contract_id=visit.contract_id, reason="contract ended")
    for event in (visit, moved, cancelled):
        await publish_event(service.js, event, service.clock.now())
    await service.drained()
    shown = await service.show(visit.visit_id, customer)
    assert shown["status"] == "cancelled"
    [window] = shown["preferred_windows"]
    assert datetime.fromisoformat(window["start"]) == moved.window_start
