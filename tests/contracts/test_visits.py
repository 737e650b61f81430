"""Planned visits on the real database: idempotent generation, following changes, DST and month ends,
carry-over of failed work, history and health from other services' events, the replica-safe sweep."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from services.contracts.db import tables as t
from services.contracts.usecases.sweep import generate_all, sweep_once
from services.contracts.usecases.visits import regenerate_visits
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged
from shared.events.requests import ServiceRequestCreated
from tests.contracts.conftest import Contracts
from tests.support.clock import suite_now
from tests.support.polling import eventually

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]


def _days_ago(days: int) -> str:
    return (suite_now() - timedelta(days=days)).date().isoformat()


async def _visits(contracts: Contracts, contract_id: str, **params: str) -> list[dict[str, Any]]:
    response = await contracts.client.get(f"/contracts/{contract_id}/visits", headers=contracts.manager, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _generate(contracts: Contracts, contract_id: str) -> dict[str, int]:
    return await contracts.post("/visits/generate", {"contract_id": contract_id}, expect=200)


async def _patch(contracts: Contracts, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await contracts.client.patch(path, headers=contracts.manager, json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _maintained_site(
    contracts: Contracts, name: str, rrule: str = "FREQ=WEEKLY;BYDAY=MO", **contract: Any
) -> tuple[str, str, list[str], dict[str, Any], dict[str, Any]]:
    customer_id, site_id = await contracts.customer_with_site(
        name, access_hours={"mon": [{"start": "08:00", "end": "20:00"}]}
    )
    units = [
        await contracts.unit(site_id),
        await contracts.unit(site_id, equipment_type="display_case", required_skills=[{"skill": "electrical"}]),
    ]
    created = await contracts.contract(customer_id, [site_id], starts_on=_days_ago(30), **contract)
    schedule = await contracts.post(
        f"/contracts/{created['id']}/schedules",
        {
            "site_id": site_id,
            "rrule": rrule,
            "tolerance_days": 2,
            "duration_minutes": 60,
            "required_skills": [{"skill": "refrigeration", "min_level": 3}],
            "priority": "P3",
        },
    )
    activated = await contracts.client.post(f"/contracts/{created['id']}/activate", headers=contracts.manager)
    assert activated.status_code == 200, activated.text
    return customer_id, site_id, units, created, schedule


async def test_generation_is_idempotent_and_follows_schedule_and_contract_changes(contracts: Contracts) -> None:
    _, site_id, units, contract, schedule = await _maintained_site(contracts, "Yalta Seafood Hall")
    cid = contract["id"]
    planned = await _visits(contracts, cid)
    assert 8 <= len(planned) <= 10  # Mondays in the next 60 days
    assert all(v["equipment_ids"] == sorted(units) for v in planned)
    assert all(date.fromisoformat(v["due_on"]).weekday() == 0 for v in planned)

    again = await _generate(contracts, cid)
    assert (again["planned"], again["moved"], again["cancelled"], again["reinstated"]) == (0, 0, 0, 0)
    assert [v["id"] for v in await _visits(contracts, cid)] == [v["id"] for v in planned]

    announced = await contracts.outbox(VisitPlanned.subject, contract_id=cid)
    assert sorted(e["visit_id"] for e in announced) == sorted(v["id"] for v in planned)
    first = next(e for e in announced if e["visit_id"] == planned[0]["id"])
    assert first["site_id"] == site_id and first["location"] == {"lat": 44.499, "lon": 34.16}
    assert first["duration_minutes"] == 60 and first["priority"] == "P3"
    assert {(s["skill"], s["min_level"]) for s in first["skills"]} == {("refrigeration", 3), ("electrical", 1)}
    assert first["window_end"] > first["window_start"] and first["access_hours"] == {"mon": [["08:00", "20:00"]]}
    assert first["schedule_id"] == schedule["id"] and first["timezone"] == "Europe/Simferopol"

    await _patch(contracts, f"/schedules/{schedule['id']}", {"duration_minutes": 90})
    moved = await contracts.outbox(VisitRescheduled.subject, contract_id=cid)
    assert sorted(e["visit_id"] for e in moved) == sorted(v["id"] for v in planned)
    assert {e["duration_minutes"] for e in moved} == {90}

    await _patch(contracts, f"/schedules/{schedule['id']}", {"rrule": "FREQ=WEEKLY;BYDAY=TH"})
    now_open = await _visits(contracts, cid, status="planned")
    assert now_open and all(date.fromisoformat(v["due_on"]).weekday() == 3 for v in now_open)
    cancelled = {e["visit_id"] for e in await contracts.outbox(VisitCancelled.subject, contract_id=cid)}
    assert cancelled == {v["id"] for v in planned}

    ends_on = (contracts.clock.now() + timedelta(days=14)).date()
    await _patch(contracts, f"/contracts/{cid}", {"ends_on": ends_on.isoformat()})
    left = await _visits(contracts, cid, status="planned")
    assert left and all(date.fromisoformat(v["due_on"]) <= ends_on for v in left)
    assert all(v["window_end"] <= f"{ends_on + timedelta(days=1)}T00:00:00Z" for v in left)

    await _patch(contracts, f"/schedules/{schedule['id']}", {"active": False})
    assert await _visits(contracts, cid, status="planned") == []
    async with contracts.db.transaction() as session:
        per_occurrence = (
            await session.execute(
                select(func.count())
                .select_from(t.planned_visits)
                .where(t.planned_visits.c.contract_id == cid)
                .group_by(t.planned_visits.c.schedule_id, t.planned_visits.c.occurrence_at)
                .having(func.count() > 1)
            )
        ).all()
    assert per_occurrence == []


async def test_visits_keep_local_time_across_dst_and_fall_on_month_ends(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Berlin Kuehlhaus", lat=52.52, lon=13.40)
    contract = await contracts.contract(
        customer_id, [site_id], timezone="Europe/Berlin", starts_on="2031-01-01", ends_on="2031-12-31"
    )
    for rule, at in (("FREQ=WEEKLY;BYDAY=SU", "10:00"), ("FREQ=MONTHLY;BYMONTHDAY=-1", "09:00")):
        await contracts.post(
            f"/contracts/{contract['id']}/schedules",
            {"site_id": site_id, "rrule": rule, "visit_time": at, "duration_minutes": 45},
        )
    await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert await _visits(contracts, contract["id"]) == []  # 2031 is beyond today's horizon

    now = datetime(2031, 2, 20, tzinfo=UTC)
    async with contracts.db.transaction() as session:
        summary = await regenerate_visits(session, uuid.UUID(contract["id"]), now, 45)
    assert summary.planned == 8
    due = [v["due_at"] for v in await _visits(contracts, contract["id"])]
    assert due == [
        "2031-02-23T09:00:00Z",
        "2031-02-28T08:00:00Z",
        "2031-03-02T09:00:00Z",
        "2031-03-09T09:00:00Z",
        "2031-03-16T09:00:00Z",
        "2031-03-23T09:00:00Z",
        "2031-03-30T08:00:00Z",  # CEST from 30 March
        "2031-03-31T07:00:00Z",
    ]
    async with contracts.db.transaction() as session:
        repeat = await regenerate_visits(session, uuid.UUID(contract["id"]), now, 45)
    assert (repeat.planned, repeat.moved, repeat.cancelled) == (0, 0, 0)


async def test_a_failed_visit_hands_its_work_to_the_next_visit(contracts: Contracts) -> None:
    customer_id, _, units, contract, _ = await _maintained_site(contracts, "Kerch Ice Plant")
    first, second = (await _visits(contracts, contract["id"]))[:2]
    assignment, technician = uuid.uuid4(), uuid.uuid4()
    now = contracts.clock.now()
    await contracts.publish(
        AssignmentCreated(
            assignment_id=assignment,
            request_id=uuid.UUID(first["id"]),
            customer_id=uuid.UUID(customer_id),
            technician_id=technician,
            technician_first_name="Anna",
            status="accepted",
            planned_start=now,
            planned_end=now + timedelta(hours=1),
            eta=now,
        )
    )
    await contracts.publish(
        AssignmentStatusChanged(
            assignment_id=assignment,
            request_id=uuid.UUID(first["id"]),
            customer_id=uuid.UUID(customer_id),
            technician_id=technician,
            status="failed",
            previous_status="on_site",
            at=now + timedelta(minutes=40),
            outcome="needs a new compressor",
        )
    )

    async def shown() -> dict[str, dict[str, Any]]:
        return {v["id"]: v for v in await _visits(contracts, contract["id"])}

    visits = await eventually(shown, lambda vs: vs[second["id"]]["carried_over_from"] is not None)
    assert visits[first["id"]]["status"] == "failed"
    assert visits[second["id"]]["carried_over_from"] == first["id"]
    assert visits[second["id"]]["carried_work"] == "needs a new compressor"
    rescheduled = await contracts.outbox(VisitRescheduled.subject, visit_id=second["id"])
    assert rescheduled[-1]["carried_over_from"] == first["id"]
    assert rescheduled[-1]["carried_work"] == "needs a new compressor"

    history = (
        await contracts.client.get(f"/equipment/{units[0]}/history", headers=contracts.customer(customer_id))
    ).json()
    assert [(h["status"], h["kind"], h["outcome"]) for h in history] == [
        ("accepted", "planned", None),
        ("failed", "planned", "needs a new compressor"),
    ]
    assert all(h["technician_id"] is None and h["assignment_id"] is None for h in history)  # staff ids stay inside
    staff = (await contracts.client.get(f"/equipment/{units[0]}/history", headers=contracts.manager)).json()
    assert all(h["technician_id"] is not None for h in staff)


async def test_history_and_sla_compliance_come_from_request_and_dispatch_events(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Sudak Winery Shop")
    unit = await contracts.unit(site_id)
    contract = await contracts.contract(customer_id, [site_id], contract_type="on_call")
    await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    now = contracts.clock.now().replace(microsecond=0)
    kept, missed = uuid.uuid4(), uuid.uuid4()
    for request_id, response_due, fix_due in (
        (kept, now + timedelta(hours=1), now + timedelta(hours=2)),
        (missed, now - timedelta(hours=1), now + timedelta(hours=5)),
    ):
        await contracts.publish(
            ServiceRequestCreated(
                request_id=request_id,
                customer_id=uuid.UUID(customer_id),
                site_id=uuid.UUID(site_id),
                equipment_id=uuid.UUID(unit),
                kind="emergency",
                priority="P1",
                location={"lat": 44.84, "lon": 34.97},  # type: ignore[arg-type]
                covered=True,
                contract_id=uuid.UUID(contract["id"]),
                response_due=response_due,
                fix_due=fix_due,
                created_at=now - timedelta(hours=2),
            )
        )
    assignment, technician = uuid.uuid4(), uuid.uuid4()
    steps = [("en_route", now - timedelta(minutes=30)), ("on_site", now), ("completed", now + timedelta(hours=3))]
    previous = "accepted"
    for status, at in steps:
        event = AssignmentStatusChanged(
            assignment_id=assignment,
            request_id=kept,
            customer_id=uuid.UUID(customer_id),
            technician_id=technician,
            status=status,
            previous_status=previous,
            at=at,
        )  # type: ignore[arg-type]
        await contracts.publish(event)
        await contracts.publish(event)  # a second delivery under a new event id is absorbed
        previous = status

    async def health() -> dict[str, Any]:
        response = await contracts.client.get(f"/contracts/{contract['id']}/health", headers=contracts.manager)
        return response.json()  # type: ignore[no-any-return]

    sla = (await eventually(health, lambda h: h["sla"]["requests"] == 2 and h["sla"]["fix_breached"] == 1))["sla"]
    assert sla == {
        "requests": 2,
        "response_met": 1,
        "response_breached": 1,
        "response_compliance": 0.5,
        "fix_met": 0,
        "fix_breached": 1,
        "fix_compliance": 0.0,
    }
    history = (await contracts.client.get(f"/equipment/{unit}/history", headers=contracts.manager)).json()
    assert [(h["status"], h["request_id"]) for h in history] == [(s, str(kept)) for s, _ in steps]


async def test_health_counts_visits_due_done_and_overdue(contracts: Contracts) -> None:
    customer_id, _, _, contract, _ = await _maintained_site(contracts, "Alushta Market", rrule="FREQ=DAILY")
    past = contracts.clock.now() - timedelta(days=25)
    async with contracts.db.transaction() as session:
        await regenerate_visits(session, uuid.UUID(contract["id"]), past, 10)  # cancels what lies beyond 10 days
    assert (await _generate(contracts, contract["id"]))["reinstated"] >= 50  # ...which today's run brings back
    now = contracts.clock.now()
    overdue = [v for v in await _visits(contracts, contract["id"]) if v["window_end"] < now.isoformat()]
    assert len(overdue) >= 9
    technician, done = uuid.uuid4(), overdue[0]
    await contracts.publish(
        AssignmentStatusChanged(
            assignment_id=uuid.uuid4(),
            request_id=uuid.UUID(done["id"]),
            customer_id=uuid.UUID(customer_id),
            technician_id=technician,
            status="completed",
            previous_status="on_site",
            at=contracts.clock.now(),
        )
    )

    async def health() -> dict[str, Any]:
        response = await contracts.client.get(
            f"/contracts/{contract['id']}/health", headers=contracts.customer(customer_id)
        )
        return response.json()  # type: ignore[no-any-return]

    visits = (await eventually(health, lambda h: h["visits"]["done"] == 1))["visits"]
    assert visits["overdue"] == len(overdue) - 1
    assert visits["due"] >= len(overdue) and visits["open"] > 0 and visits["failed"] == 0


async def test_the_sweep_runs_on_one_replica_at_a_time_and_expires_ended_contracts(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Yevpatoria Seasonal Kiosk")
    today = contracts.clock.now().date()
    contract = await contracts.contract(
        customer_id, [site_id], starts_on=_days_ago(10), ends_on=(today + timedelta(days=1)).isoformat()
    )
    await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    async with contracts.db.engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(hashtext('contracts:visit-sweep'))"))
        assert await sweep_once(contracts.db, 60, contracts.clock.now()) is None  # another replica is sweeping
        await holder.execute(text("SELECT pg_advisory_unlock(hashtext('contracts:visit-sweep'))"))
    assert await sweep_once(contracts.db, 60, contracts.clock.now()) is not None
    summary = await generate_all(contracts.db, contracts.clock.now() + timedelta(days=3), 60)
    assert summary.expired >= 1
    shown = (await contracts.client.get(f"/contracts/{contract['id']}", headers=contracts.manager)).json()
    assert shown["status"] == "expired" and shown["ended_on"] == (today + timedelta(days=1)).isoformat()


async def test_a_contract_naming_units_plans_visits_for_those_units_only(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Feodosia Dairy")
    covered = await contracts.unit(site_id)
    other = await contracts.unit(site_id, equipment_type="ice_machine")
    contract = await contracts.contract(customer_id, [site_id], equipment_ids=[covered], starts_on=_days_ago(5))
    cid = contract["id"]
    refused = await contracts.client.post(
        f"/contracts/{cid}/schedules",
        headers=contracts.manager,
        json={"site_id": site_id, "equipment_id": other, "rrule": "FREQ=MONTHLY", "duration_minutes": 30},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "equipment_id"
    await contracts.post(
        f"/contracts/{cid}/schedules", {"site_id": site_id, "rrule": "FREQ=WEEKLY;BYDAY=WE", "duration_minutes": 30}
    )
    await contracts.client.post(f"/contracts/{cid}/activate", headers=contracts.manager)
    assert {tuple(v["equipment_ids"]) for v in await _visits(contracts, cid)} == {(covered,)}

    await _patch(contracts, f"/contracts/{cid}", {"equipment_ids": [covered, other]})
    assert {tuple(v["equipment_ids"]) for v in await _visits(contracts, cid, status="planned")} == {
        tuple(sorted([covered, other]))
    }
    [changed] = await contracts.outbox("fieldline.contracts.contract.changed.v1", contract_id=cid)
    assert changed["changes"] == ["equipment_ids"] and changed["status"] == "active"


async def test_a_reassigned_visit_shows_who_goes_now_in_the_units_history(contracts: Contracts) -> None:
    customer_id, _, units, contract, _ = await _maintained_site(contracts, "Yalta Fish Market")
    first = (await _visits(contracts, contract["id"]))[0]
    assignment, anna, oleg = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = contracts.clock.now()
    common = {
        "assignment_id": assignment,
        "request_id": uuid.UUID(first["id"]),
        "customer_id": uuid.UUID(customer_id),
        "planned_start": now,
        "planned_end": now + timedelta(hours=1),
        "eta": now,
    }
    await contracts.publish(
        AssignmentCreated(**common, technician_id=anna, technician_first_name="Anna", status="offered")  # type: ignore[arg-type]
    )
    # the dispatcher reassigns it a few minutes later (two steps at one instant would have no order to show)
    contracts.clock.set(now + timedelta(minutes=5))
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

    async def history() -> list[dict[str, Any]]:
        response = await contracts.client.get(f"/equipment/{units[0]}/history", headers=contracts.manager)
        return list(response.json())

    shown = await eventually(history, lambda h: len(h) == 2, what="the reassignment reaches the unit's history")
    assert [(h["status"], h["technician_id"]) for h in shown] == [("offered", str(anna)), ("reassigned", str(oleg))]


async def test_text_with_a_nul_is_refused_naming_the_field_and_instants_are_utc_z(contracts: Contracts) -> None:
    refused = await contracts.client.post("/customers", headers=contracts.manager, json={"name": "Shop\x00 No 1"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "name"
    _, _, _, contract, _ = await _maintained_site(contracts, "Alushta Bakery")
    visits = await _visits(contracts, contract["id"])
    assert visits and all(v[k].endswith("Z") for v in visits for k in ("due_at", "window_start", "window_end"))
