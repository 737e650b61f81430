"""Issue 11 on the running day: re-plans keep a booked emergency at its promised ETA, absences and shift edges at
any moment still plan, a day that fails to plan is reported and blocks no other, time ranges are bounded, and
POST /plans/{day}/replan needs no body (409 says when to retry). Real PostGIS and NATS, the clock injected."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.dispatch.db.plans import PLANNER_LOCK
from services.dispatch.planning import (
    Plan,
    PlanningOptions,
    PlanningProblem,
    SolveStatus,
    TravelTimeProvider,
    UnassignedReason,
    UnassignedVisit,
    plan_routes,
)
from services.dispatch.settings import office_hours
from services.dispatch.usecases.replanning import PlanningBusy, Replanner, run_queued_replans
from services.dispatch.usecases.roster import Roster
from shared.events.common import SkillNeed
from shared.events.contracts import VisitPlanned
from shared.events.requests import ServiceRequestCreated
from tests.support.dispatch_events import request_created, visit_planned
from tests.support.polling import eventually

from .conftest import MONDAY_0800, Clock, Dispatch

TODAY = MONDAY_0800.date()
WEEK = {d: {"start": "08:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
HOME = (44.95, 34.10)


def at(hh: int, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return MONDAY_0800.replace(hour=hh, minute=mm, second=ss, microsecond=us)


def emergency_at(now: datetime, lat: float, lon: float) -> ServiceRequestCreated:
    return request_created(now, (lat, lon))


def planned_visit(lat: float, lon: float, start: datetime, end: datetime) -> VisitPlanned:
    return visit_planned(start, end, (lat, lon), minutes=30, address="Kirova 3")


async def booked(dispatch: Dispatch, request_id: uuid.UUID) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        rows = await dispatch.sql(
            "SELECT id, eta, first_eta, planned_start, status FROM dispatch.assignments "
            "WHERE request_id = $1 AND status NOT IN ('cancelled', 'declined', 'failed', 'completed')",
            request_id,
        )
        return [dict(r) for r in rows]

    (row,) = await eventually(found, what="the request is booked")
    return row


async def test_a_replan_keeps_a_booked_emergency_at_its_first_promised_eta(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Item 1 and 2: the re-plan used to move the emergency from minutes away to just before its deadline."""
    dispatch = clocked_dispatch
    clock.now = at(10, 0, 0, 250_000)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    urgent = emergency_at(clock.now, HOME[0] + 0.04, HOME[1])
    await dispatch.publish(urgent)
    first = await booked(dispatch, urgent.request_id)
    assert first["first_eta"] == first["eta"] and first["eta"] - clock.now < timedelta(minutes=30)
    # a planned visit on the way, whose window closes soon: serving it first would be cheaper and still keep the SLA
    on_the_way = planned_visit(HOME[0] + 0.02, HOME[1], clock.now, clock.now + timedelta(minutes=20))
    await dispatch.publish(on_the_way)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", on_the_way.visit_id))

    await eventually(known, what="the visit reaches dispatch")
    clock.advance(timedelta(seconds=7))

    replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)  # no body
    assert replanned.status_code == 200, replanned.text
    after = await booked(dispatch, urgent.request_id)
    assert after["first_eta"] == first["first_eta"]
    assert after["eta"] <= first["first_eta"] + timedelta(minutes=15), (first, after)
    assert after["planned_start"] - clock.now < timedelta(minutes=30)

    plan = (await dispatch.client.get(f"/plans/{TODAY}", headers=dispatch.dispatcher)).json()
    kpis = plan["kpis"]
    assert replanned.json()["kpis"] == kpis
    assert kpis["emergencies"] == 1 and kpis["emergency_response_median_minutes"] < 30
    assert kpis["emergency_response_p90_minutes"] < 30
    assert kpis["eta_within_tolerance_share"] == 1.0 and kpis["eta_late_p90_minutes"] <= 15


@pytest.mark.parametrize(
    "now",
    [
        at(17, 10, 0, 654_321),  # the shift ended 10 minutes ago, the overtime allowance runs
        at(14, 17, 33, 123_457),  # mid-afternoon
        at(16, 59, 59, 999_999),  # a hair before the shift's end
    ],
)
async def test_a_sick_call_from_now_never_breaks_replanning(
    clocked_dispatch: Dispatch, clock: Clock, now: datetime
) -> None:
    """Item 4: POST /plans/{today}/replan used to answer 500 ("CP Solver fail") after an absence from now."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    await dispatch.add_technician("Oleg Petrov", HOME[0] + 0.01, HOME[1], weekly_shifts=WEEK)
    clock.now = min(now - timedelta(minutes=5), at(16, 30))  # booked while on shift
    urgent = emergency_at(clock.now, HOME[0] + 0.005, HOME[1])
    await dispatch.publish(urgent)
    await booked(dispatch, urgent.request_id)
    clock.now = now
    sick = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={"kind": "sickness", "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=2)).isoformat()},
    )
    assert sick.status_code == 201, sick.text
    replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    assert replanned.json()["status"] in ("feasible", "optimal")
    db = dispatch.app.state.runtime.db
    assert await run_queued_replans(db, dispatch.app.state.dispatch.replanner) >= 1
    assert await dispatch.sql("SELECT day FROM dispatch.plan_failures") == []


async def test_a_day_that_fails_to_plan_is_reported_and_never_blocks_another(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Item 5: run_queued_replans used to stop at the first exception, so one bad day held up every later one."""
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    tomorrow = TODAY + timedelta(days=1)
    conn = await asyncpg.connect(dispatch.database_url)
    try:
        for day in (TODAY, tomorrow):
            await conn.execute("INSERT INTO dispatch.replan_requests (day, reason) VALUES ($1, 'a test')", day)
    finally:
        await conn.close()
    calls: list[PlanningProblem] = []

    def planner(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
        calls.append(problem)
        if len(calls) == 1:  # today, planned first
            raise RuntimeError("CP Solver fail")
        return plan_routes(problem, travel, options)

    cases = dispatch.app.state.dispatch
    replanner = Replanner(cases.replanner.settings, clock, planner=planner)
    db = dispatch.app.state.runtime.db

    assert await run_queued_replans(db, replanner) == 1
    planned = await dispatch.sql("SELECT day FROM dispatch.plans")
    assert [r["day"] for r in planned] == [tomorrow]
    alerts = (await dispatch.client.get("/plan-failures", headers=dispatch.dispatcher)).json()
    assert [(a["day"], a["attempts"]) for a in alerts] == [(TODAY.isoformat(), 1)]
    assert "CP Solver fail" in alerts[0]["reason"]
    queued = await dispatch.sql("SELECT day FROM dispatch.replan_requests")
    assert {r["day"] for r in queued} == {TODAY}  # still waiting for a plan

    assert await run_queued_replans(db, replanner) == 0 and len(calls) == 2  # backing off: not retried at once
    clock.advance(timedelta(seconds=61))
    assert await run_queued_replans(db, replanner) == 1  # retried, and it plans now
    assert await dispatch.sql("SELECT day FROM dispatch.plan_failures") == []
    assert await dispatch.sql("SELECT day FROM dispatch.replan_requests") == []


async def _an_emergency_in_a_full_day(dispatch: Dispatch, clock: Clock, replanner: Replanner) -> ServiceRequestCreated:
    """Anna's day planned full (three visits of two and a half hours, each to start within a quarter of an hour),
    then a P1 at 08:30 (an hour's work, due in four) that the insertion finds no room for."""
    clock.now = at(8, 0)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    visits = [
        planned_visit(HOME[0] + 0.01 * k, HOME[1], at(h, m), at(h, m + 15)).model_copy(update={"duration_minutes": 150})
        for k, (h, m) in enumerate([(9, 0), (11, 40), (14, 20)], start=1)
    ]
    for visit in visits:
        await dispatch.publish(visit)

    async def known() -> bool:
        return len(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE kind = 'planned'")) == len(visits)

    await eventually(known, what="the visits reach dispatch")
    planned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert planned.status_code == 200, planned.text
    for visit in visits:
        await booked(dispatch, visit.visit_id)
    await run_queued_replans(dispatch.app.state.runtime.db, replanner)  # whatever the visits queued

    clock.now = at(8, 30)
    urgent = emergency_at(clock.now, HOME[0] + 0.005, HOME[1])
    await dispatch.publish(urgent)

    async def status() -> list[str]:
        rows = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", urgent.request_id)
        return [r["status"] for r in rows]

    decided = await eventually(status, lambda rows: rows not in ([], ["open"]), what="the emergency is decided")
    assert decided == ["unplaceable"]  # the day has no room without moving a visit
    return urgent


async def test_an_emergency_with_no_room_in_any_route_gets_it_from_the_days_replan(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """The simulated day's P1 emergencies filed in the afternoon went to the next morning: every route was full of
    planned visits with windows, the reactive insertion moves nothing booked, and the re-plan never saw an emergency
    nobody was booked for. Now finding no room queues today's re-plan, which lets a planned visit go for it."""
    dispatch = clocked_dispatch
    db = dispatch.app.state.runtime.db
    replanner = dispatch.app.state.dispatch.replanner
    urgent = await _an_emergency_in_a_full_day(dispatch, clock, replanner)
    assert await run_queued_replans(db, replanner) == 1
    served = await booked(dispatch, urgent.request_id)
    assert served["planned_start"] <= urgent.response_due and served["planned_start"].date() == TODAY
    let_go = await dispatch.sql(
        "SELECT j.request_id FROM dispatch.jobs j WHERE j.kind = 'planned' AND NOT EXISTS (SELECT 1 FROM "
        "dispatch.assignments a WHERE a.request_id = j.request_id AND a.status IN ('offered', 'accepted'))"
    )
    assert len(let_go) == 1  # one visit of the three made room, to be planned another day
    plan = (await dispatch.client.get(f"/plans/{TODAY}", headers=dispatch.dispatcher)).json()
    assert "found no room" in plan["reason"]


def keeps_to_its_start(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
    """A planner whose search never gets past its warm start (a re-plan's second on a busy day): it plans the visits
    of the warm start and leaves every other out, "no time left". Module level: worker processes take it by name."""
    started = {v for r in problem.previous_routes for v in r.visit_ids} | {p.visit_id for p in problem.pins}
    plan = plan_routes(
        dataclasses.replace(problem, visits=tuple(v for v in problem.visits if v.id in started)), travel, options
    )
    left = tuple(
        UnassignedVisit(v.id, v.priority, UnassignedReason.NO_TIME_LEFT, "fits alone, but shifts are full")
        for v in problem.visits
        if v.id not in started
    )
    weight = sum(options.drop_penalties[u.priority] for u in (*plan.unassigned, *left))
    kpis = dataclasses.replace(
        plan.kpis, unassigned=len(plan.unassigned) + len(left), unassigned_priority_weight=weight
    )
    return dataclasses.replace(plan, unassigned=(*plan.unassigned, *left), kpis=kpis)


async def test_a_replan_whose_search_leaves_the_emergency_out_tries_again_with_room_made(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """The simulated day's re-plans saw the unplaceable P1 and still left it out, "no time left", with the afternoon
    full of P4 maintenance: serving it takes several visits off one day at once, which a second's local search from
    the current routes did not find. The re-plan now tries once more from a start that gives it to the nearest
    technician and lets the maintenance go, and keeps that plan when less value is left out."""
    dispatch = clocked_dispatch
    db = dispatch.app.state.runtime.db
    replanner = Replanner(dispatch.app.state.dispatch.replanner.settings, clock, planner=keeps_to_its_start)
    urgent = await _an_emergency_in_a_full_day(dispatch, clock, replanner)
    assert await run_queued_replans(db, replanner) == 1
    served = await booked(dispatch, urgent.request_id)
    assert served["planned_start"] <= urgent.response_due
    plan = (await dispatch.client.get(f"/plans/{TODAY}", headers=dispatch.dispatcher)).json()
    assert str(urgent.request_id) not in {u["request_id"] for u in plan["unassigned"]}
    assert plan["unassigned"], "the maintenance that made room is listed, to be planned another day"


def nothing_found(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
    """What the solver answers when its time runs out before a first solution (module level: the service's planner
    runs in worker processes, which take the function by name)."""
    lost = tuple(
        UnassignedVisit(v.id, v.priority, UnassignedReason.NO_SOLUTION, "solver status no_solution")
        for v in problem.visits
    )
    return dataclasses.replace(
        plan_routes(problem, travel, options), status=SolveStatus.NO_SOLUTION, routes=(), unassigned=lost
    )


async def test_a_replan_that_finds_no_plan_leaves_every_booking_as_it_was(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """A simulated day's first re-plan found nothing within its second (status no_solution) and was persisted: every
    visit of the day was taken off its technician and went to the next day. Now the bookings stand, the run is a
    plan failure the dispatcher sees, tried again after the back-off, and a dispatcher's re-plan answers 503."""
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    visit = planned_visit(HOME[0] + 0.02, HOME[1], at(9), at(12))
    await dispatch.publish(visit)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", visit.visit_id))

    await eventually(known, what="the visit reaches dispatch")
    planned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert planned.status_code == 200, planned.text
    before = await booked(dispatch, visit.visit_id)
    versions = await dispatch.sql("SELECT version FROM dispatch.plans WHERE day = $1", TODAY)

    cases = dispatch.app.state.dispatch
    db = dispatch.app.state.runtime.db
    conn = await asyncpg.connect(dispatch.database_url)
    try:
        await conn.execute("INSERT INTO dispatch.replan_requests (day, reason) VALUES ($1, 'visit planned')", TODAY)
    finally:
        await conn.close()
    assert await run_queued_replans(db, Replanner(cases.replanner.settings, clock, planner=nothing_found)) == 0
    assert await booked(dispatch, visit.visit_id) == before
    assert await dispatch.sql("SELECT version FROM dispatch.plans WHERE day = $1", TODAY) == versions
    alerts = (await dispatch.client.get("/plan-failures", headers=dispatch.dispatcher)).json()
    assert [(a["day"], a["attempts"]) for a in alerts] == [(TODAY.isoformat(), 1)]
    assert "no plan" in alerts[0]["reason"] and "bookings stand" in alerts[0]["reason"]
    assert await dispatch.sql("SELECT day FROM dispatch.replan_requests") != []  # still waiting for a plan

    real, cases.replanner.planner = cases.replanner.planner, nothing_found
    try:
        refused = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    finally:
        cases.replanner.planner = real
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) > 0 and "no plan" in refused.json()["detail"]
    assert await booked(dispatch, visit.visit_id) == before


async def test_replan_needs_no_body_and_a_busy_day_says_when_to_retry(clocked_dispatch: Dispatch) -> None:
    """Item 7: no body gave 422 "body: Field required"; the 409 had no Retry-After."""
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    plain = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert plain.status_code == 200, plain.text
    assert plain.json()["reason"] == "re-plan requested by a dispatcher"
    lock = PLANNER_LOCK
    conn = await asyncpg.connect(dispatch.database_url)
    try:  # an automatic run holds the day for a second: the dispatcher's re-plan waits for it, then plans
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
        release = asyncio.get_running_loop().call_later(
            1.0, lambda: asyncio.ensure_future(conn.execute("SELECT pg_advisory_unlock(hashtext($1))", lock))
        )
        waited = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher, json={})
        release.cancel()
        assert waited.status_code == 200, waited.text
        # another run holds the day for longer than a dispatcher waits (three solver runs and a margin)
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
        busy = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher, json={})
    finally:
        await conn.close()
    assert busy.status_code == 409, busy.text
    assert busy.headers["content-type"].startswith("application/problem+json")
    assert int(busy.headers["retry-after"]) > 0
    assert "being made by another run" in busy.json()["detail"]
    for absurd in ("0009-03-04", "6049-03-04"):  # days of the fuzzing run's absence
        refused = await dispatch.client.post(f"/plans/{absurd}/replan", headers=dispatch.dispatcher)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["day"]


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        ("0009-03-04T10:00:00+03:00", "6049-03-04T10:00:00+03:00", "starts_at,ends_at"),  # the fuzzing run's
        ("2030-03-04T10:00:00+03:00", "6049-03-04T10:00:00+03:00", "ends_at"),
        ("2030-03-04T10:00:00+03:00", "2030-03-04T09:00:00+03:00", "ends_at"),  # ends before it starts
        ("2030-03-04T10:00:00+03:00", "2030-03-04T10:00:00+03:00", "ends_at"),  # zero length
        ("2030-03-04T10:00:00+03:00", "2031-03-06T10:00:00+03:00", "ends_at"),  # longer than 366 days
        ("2030-03-04T10:00:00", "2030-03-05T10:00:00+03:00", "starts_at"),  # no offset: which 10:00?
    ],
)
async def test_absences_with_absurd_ranges_are_refused_naming_the_field(
    clocked_dispatch: Dispatch, starts_at: str, ends_at: str, field: str
) -> None:
    """Item 6: a fuzzing run left absences from year 0009 to 6049, and each broke planning."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    response = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={"kind": "sickness", "starts_at": starts_at, "ends_at": ends_at},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == field.split(",")
    assert await dispatch.sql("SELECT id FROM dispatch.absences") == []


async def test_a_weekly_shift_break_window_must_be_in_order(clocked_dispatch: Dispatch) -> None:
    dispatch = clocked_dispatch
    bad = {
        "mon": {
            "start": "08:00",
            "end": "17:00",
            "break_minutes": 30,
            "break_earliest": "14:00",
            "break_latest": "12:00",
        }
    }
    response = await dispatch.client.post(
        "/technicians",
        headers=dispatch.dispatcher,
        json={
            "name": "Anna Koval",
            "skills": {"refrigeration": 3},
            "home_base": {"lat": 44.95, "lon": 34.1},
            "weekly_shifts": bad,
        },
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["weekly_shifts.mon.break_latest"]


async def test_a_technician_without_shifts_follows_the_company_working_hours(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Item 8: technicians with no shifts were on duty 24 hours; now they work the default weekly pattern."""
    dispatch = clocked_dispatch
    cases = dispatch.app.state.dispatch
    settings = cases.roster.settings.model_copy(update={"default_weekly_shifts": office_hours()})
    db = dispatch.app.state.runtime.db
    async with db.transaction() as session:
        anna = await Roster(settings, clock).add_technician(
            session, "Anna Koval", "Anna", {"refrigeration": 3}, *HOME, None, None, 60
        )
    shifts = await dispatch.sql(
        "SELECT day, starts_at, ends_at, break_minutes, break_earliest, break_latest FROM dispatch.shifts "
        "WHERE technician_id = $1 ORDER BY day",
        anna,
    )
    by_day = {r["day"]: r for r in shifts}
    sunday, monday = TODAY - timedelta(days=1), TODAY
    assert sunday not in by_day and monday in by_day  # the horizon runs from yesterday, a Sunday
    assert (by_day[monday]["starts_at"], by_day[monday]["ends_at"]) == (at(8), at(17))
    assert by_day[monday]["break_minutes"] == 30
    assert (by_day[monday]["break_earliest"], by_day[monday]["break_latest"]) == (at(12), at(14))

    clock.now = at(20)  # after hours: nobody to send now; she is the first who can go, when her shift starts
    late = emergency_at(clock.now, HOME[0] + 0.01, HOME[1])
    await dispatch.publish(late)

    async def status() -> str | None:
        rows = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", late.request_id)
        return rows[0]["status"] if rows else None

    assert await eventually(status, lambda s: s not in (None, "open"), what="placement decided") == "assigned"
    booking = await dispatch.sql(
        "SELECT technician_id, planned_start FROM dispatch.assignments WHERE request_id = $1", late.request_id
    )
    assert booking[0]["technician_id"] == uuid.UUID(str(anna))
    tomorrow_eight = at(8) + timedelta(days=1)
    assert tomorrow_eight < booking[0]["planned_start"] < tomorrow_eight + timedelta(minutes=30)


async def test_a_promised_arrival_is_kept_until_a_dispatcher_releases_it_and_then_the_customer_is_told(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Item 2 and issue 17: a told arrival stays within the tolerance (30 min) across re-plans; released by a
    dispatcher it may move, and no promised arrival moves outside the tolerance without a record of who was told."""
    dispatch = clocked_dispatch
    clock.now = at(8)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    spot = (HOME[0] + 0.01, HOME[1])
    first = planned_visit(*spot, at(9), at(16))
    await dispatch.publish(first)

    async def known(request_id: uuid.UUID) -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", request_id))

    await eventually(lambda: known(first.visit_id), what="the visit reaches dispatch")
    assert (await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)).status_code == 200
    promised = await booked(dispatch, first.visit_id)
    assert promised["planned_start"] == at(9)  # as early as its window allows

    # only fits at 09:00 and takes an hour: serving it pushes the first visit's told arrival an hour on
    tight = planned_visit(*spot, at(9), at(9, 10)).model_copy(update={"duration_minutes": 60})
    await dispatch.publish(tight)
    await eventually(lambda: known(tight.visit_id), what="the second visit reaches dispatch")
    kept = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert kept.status_code == 200, kept.text
    assert kept.json()["unassigned"] == 1 and kept.json()["kpis"]["promises_broken"] == 0
    assert (await booked(dispatch, first.visit_id))["eta"] - promised["eta"] <= timedelta(minutes=30)

    released = await dispatch.client.post(
        f"/plans/{TODAY}/replan", headers=dispatch.dispatcher, json={"release_promises": True}
    )
    assert released.status_code == 200, released.text
    assert released.json()["unassigned"] == 0 and released.json()["kpis"]["promises_broken"] == 1
    assert "promised arrivals released by" in released.json()["reason"]
    moved = await booked(dispatch, first.visit_id)
    assert moved["eta"] - promised["eta"] > timedelta(minutes=30)
    assert moved["first_eta"] == moved["eta"]  # the new arrival the customer is told is the promise kept from now on
    local = moved["eta"].astimezone(MONDAY_0800.tzinfo)
    (change,) = [c for c in released.json()["changes"] if c["request_id"] == str(first.visit_id)]
    assert (
        change["promise_broken"]
        and {
            "audience": "customer",
            "technician_id": None,
            "text": (f"the customer is told the new arrival {local:%H:%M} (promised 09:00)"),
        }
        in change["told"]
    )
    assert any(n["audience"] == "technician" for n in change["told"])
    rows = await dispatch.sql(
        "SELECT payload->'data'->>'reason' AS reason FROM dispatch.outbox "
        "WHERE subject = 'fieldline.dispatch.assignment.changed.v1' AND payload->'data'->>'assignment_id' = $1",
        str(promised["id"]),
    )
    assert len(rows) == 1  # one re-plan moved it once
    assert f"the customer is told the new arrival {local:%H:%M}" in rows[0]["reason"]
    assert "released by" in rows[0]["reason"]


async def test_a_promise_no_plan_can_keep_still_leaves_the_emergency_served(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """The promise bound is hard only while it can be kept: an emergency is never dropped to honour it."""
    dispatch = clocked_dispatch
    clock.now = at(10)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    urgent = emergency_at(clock.now, HOME[0] + 0.12, HOME[1])  # half an hour's drive or so
    await dispatch.publish(urgent)
    first = await booked(dispatch, urgent.request_id)
    assert first["eta"] - clock.now > timedelta(minutes=20)
    impossible = clock.now + timedelta(minutes=1)  # as if promised a minute out
    await dispatch.sql("UPDATE dispatch.assignments SET first_eta = $1 WHERE id = $2", impossible, first["id"])

    replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    assert replanned.json()["unassigned"] == 0
    after = await booked(dispatch, urgent.request_id)
    assert after["id"] == first["id"] and after["first_eta"] == impossible
    assert after["eta"] - first["eta"] < timedelta(minutes=5)  # as early as the drive allows
    (job,) = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", urgent.request_id)
    assert job["status"] == "assigned"


async def test_a_visit_booked_by_another_days_plan_while_this_one_solves_is_left_to_it(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """A visit whose window spans two days, booked elsewhere while today's plan solves (here straight into the table,
    as no plan of another day can now run meanwhile): today's write used to fail as a whole (DoubleBooking on the
    request), now it goes on and the other booking stands."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    spanning = planned_visit(44.96, 34.11, at(9), at(9) + timedelta(days=1, hours=8))
    other = planned_visit(44.97, 34.12, at(10), at(16))
    for visit in (spanning, other):
        await dispatch.publish(visit, occurred_at=clock.now)

    async def known() -> int:
        return len(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE kind = 'planned'"))

    await eventually(known, lambda n: n == 2, what="both visits reach dispatch")
    tomorrow_9 = at(9) + timedelta(days=1)

    def planner(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
        async def book_elsewhere() -> None:  # tomorrow's plan, run meanwhile, takes the spanning visit
            conn = await asyncpg.connect(dispatch.database_url)
            try:
                await conn.execute(
                    "INSERT INTO dispatch.assignments (id, request_id, technician_id, customer_id, status,"
                    " planned_start, planned_end, eta, first_eta) VALUES ($1, $2, $3, $4, 'offered', $5, $6, $5, $5)",
                    uuid.uuid4(), spanning.visit_id, uuid.UUID(anna), spanning.customer_id,
                    tomorrow_9, tomorrow_9 + timedelta(minutes=30),
                )  # fmt: skip
            finally:
                await conn.close()

        asyncio.run(book_elsewhere())
        return plan_routes(problem, travel, options)

    replanner = Replanner(dispatch.app.state.dispatch.replanner.settings, clock, planner=planner)
    result = await replanner.replan(dispatch.app.state.runtime.db, TODAY, ["a test"])
    assert result["status"] in ("feasible", "optimal")
    rows = await dispatch.sql(
        "SELECT request_id, planned_start FROM dispatch.assignments WHERE status = 'offered' ORDER BY planned_start"
    )
    by_request = {r["request_id"]: r["planned_start"] for r in rows}
    assert by_request[spanning.visit_id] == tomorrow_9, "the other plan's booking stands, once"
    assert other.visit_id in by_request, "today's plan still booked the rest of its day"
    assert await dispatch.sql("SELECT day FROM dispatch.plan_failures") == []


async def test_another_days_plan_waits_while_a_plan_is_made_so_a_spanning_visit_goes_to_the_earlier_day(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Each day had its own planner lock: tomorrow's quick re-plan, made while the morning's plan of today solved,
    booked the visits that fit both days on tomorrow, and today's plan found them taken (a simulated day did none of
    its 42 planned visits). One plan is made at a time now, whatever its day."""
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    spanning = planned_visit(44.96, 34.11, at(9), at(9) + timedelta(days=1, hours=8))
    await dispatch.publish(spanning, occurred_at=clock.now)

    async def known() -> int:
        return len(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", spanning.visit_id))

    await eventually(known, lambda n: n == 1, what="the visit reaches dispatch")
    solving, tried = threading.Event(), threading.Event()

    def slow_today(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
        solving.set()
        tried.wait(30)  # today's plan is still solving when tomorrow's is asked for
        return plan_routes(problem, travel, options)

    settings = dispatch.app.state.dispatch.replanner.settings
    db = dispatch.app.state.runtime.db
    today = asyncio.create_task(Replanner(settings, clock, planner=slow_today).replan(db, TODAY, ["the morning"]))
    assert await asyncio.to_thread(solving.wait, 30)
    with pytest.raises(PlanningBusy):
        await Replanner(settings, clock).replan(db, TODAY + timedelta(days=1), ["a visit planned"])
    tried.set()
    assert (await today)["status"] in ("feasible", "optimal")
    (row,) = await dispatch.sql(
        "SELECT planned_start FROM dispatch.assignments WHERE request_id = $1 AND status = 'offered'", spanning.visit_id
    )
    assert row["planned_start"].date() == TODAY
    tomorrow = await Replanner(settings, clock).replan(db, TODAY + timedelta(days=1), ["a visit planned"])
    assert tomorrow["status"] in ("feasible", "optimal")  # once today's is made, tomorrow's runs, and leaves it be
    rows = await dispatch.sql(
        "SELECT planned_start, status FROM dispatch.assignments WHERE request_id = $1", spanning.visit_id
    )
    assert [(r["planned_start"].date(), r["status"]) for r in rows] == [(TODAY, "offered")]


async def test_the_plan_says_which_visits_it_left_unassigned_and_why(clocked_dispatch: Dispatch, clock: Clock) -> None:
    """Read through GET /plans/{day} (and its diff): each visit the plan leaves out, with the planner's reason code,
    its detail and the job's label; the visit the technician can do is routed."""
    dispatch = clocked_dispatch
    clock.now = at(8)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)  # refrigeration 3
    routed = planned_visit(HOME[0] + 0.02, HOME[1], at(9), at(16))
    needs_gas = planned_visit(HOME[0] + 0.02, HOME[1], at(9), at(16)).model_copy(
        update={"skills": [SkillNeed(skill="gas", min_level=1)], "address": "Gagarina 9"}
    )
    too_far = planned_visit(HOME[0] + 3.0, HOME[1], at(8), at(8, 30)).model_copy(update={"address": "Kerch port"})
    for visit in (routed, needs_gas, too_far):
        await dispatch.publish(visit)

    async def known() -> bool:
        rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs")
        return rows[0]["n"] == 3

    await eventually(known, what="the visits reach dispatch")
    replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    assert (replanned.json()["assigned"], replanned.json()["unassigned"]) == (1, 2)

    plan = await dispatch.client.get(f"/plans/{TODAY}", headers=dispatch.dispatcher)
    assert plan.status_code == 200, plan.text
    left_out = {u["request_id"]: u for u in plan.json()["unassigned"]}
    assert left_out == {
        str(needs_gas.visit_id): {
            "request_id": str(needs_gas.visit_id),
            "reason": "no_skilled_technician",
            "detail": "needs gas>=1",
            "label": "Gagarina 9",
        },
        str(too_far.visit_id): {
            "request_id": str(too_far.visit_id),
            "reason": "window_unreachable",
            "detail": "for all 1 skilled technician-days",
            "label": "Kerch port",
        },
    }
    (route,) = plan.json()["routes"]
    assert [s["request_id"] for s in route["stops"]] == [str(routed.visit_id)]
    diff = await dispatch.client.get(f"/plans/{TODAY}/diff", headers=dispatch.dispatcher)
    assert {u["reason"] for u in diff.json()["unassigned"]} == {"no_skilled_technician", "window_unreachable"}
