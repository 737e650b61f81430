"""Joint planning of the horizon (issue 17), through dispatch's events and API on real PostGIS and NATS: a visit
tolerant over several days goes on the day with room instead of pushing out work that can only be done on the
full day, each day gets its own plan version, and a later re-plan of one day leaves the other days as they are."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest_asyncio

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
from shared.events.contracts import VisitPlanned
from tests.conftest import Keys
from tests.support.dispatch_events import visit_planned
from tests.support.infra import NatsServer
from tests.support.polling import eventually

from .conftest import Clock, Dispatch, dispatch_app
from .conftest import march_2030 as local
from .test_live_ops import WEEK, active, emergency, job_status

TZ = ZoneInfo("Europe/Simferopol")
# Anna works Monday and Tuesday only: the tolerant visit has one other day to go to
MON_TUE = {d: {"start": "08:00", "end": "17:00"} for d in ("mon", "tue")}
SIMFEROPOL = (44.952, 34.102)
SITE = (44.96, 34.11)


SUNDAY, MONDAY, TUESDAY, WEDNESDAY = (local(d, 0).date() for d in (3, 4, 5, 6))


@pytest_asyncio.fixture
async def dispatch(
    database_url: str, nats_server: NatsServer, keys: Keys, sunday_evening: Clock
) -> AsyncIterator[Dispatch]:
    # today (Sunday, nothing left of it) and the next three days, solved as one problem
    async with dispatch_app(database_url, nats_server, keys, sunday_evening, plan_horizon_days=3) as running:
        yield running


def maintenance(start: datetime, end: datetime, where: tuple[float, float] = SITE) -> VisitPlanned:
    return visit_planned(start, end, where, minutes=60, address="Pushkina 5", timezone="Europe/Simferopol")


async def bookings(dispatch: Dispatch) -> dict[uuid.UUID, Any]:
    rows = await dispatch.sql(
        "SELECT request_id, id, technician_id, planned_start FROM dispatch.assignments WHERE status = 'offered'"
    )
    return {r["request_id"]: r for r in rows}


def day_of(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


async def test_a_tolerant_visit_goes_on_the_day_with_room_and_a_days_replan_leaves_the_other_days(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=MON_TUE, overtime_minutes=0)
    # Monday holds eight hours of work that can only be done on Monday: with the drive there, nine hours of shift
    monday_only = [maintenance(local(4, 8), local(4, 17)) for _ in range(8)]
    # due from Monday to Wednesday, as much worth as each Monday visit, next to Anna's home
    tolerant = maintenance(local(4, 8), local(6, 17), where=SIMFEROPOL)
    for visit in (*monday_only, tolerant):
        await dispatch.publish(visit, occurred_at=sunday_evening.now)

    async def all_known() -> bool:
        rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs")
        return bool(rows[0]["n"] == 9)

    await eventually(all_known, what="the visits reach dispatch")

    planned = await dispatch.client.post("/horizon/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    days = planned.json()["days"]
    assert [d["day"] for d in days] == [str(d) for d in (SUNDAY, MONDAY, TUESDAY, WEDNESDAY)]
    assert [d["unassigned"] for d in days] == [0, 0, 0, 0]
    booked = await bookings(dispatch)
    assert {day_of(booked[v.visit_id]["planned_start"]) for v in monday_only} == {MONDAY}
    assert day_of(booked[tolerant.visit_id]["planned_start"]) == TUESDAY
    # each day has its plan version, read through the API, with nothing left out
    monday_plan = (await dispatch.client.get(f"/plans/{MONDAY}", headers=dispatch.dispatcher)).json()
    assert monday_plan["unassigned"] == []
    assert sum(len(r["stops"]) for r in monday_plan["routes"]) == 8
    tuesday_plan = (await dispatch.client.get(f"/plans/{TUESDAY}", headers=dispatch.dispatcher)).json()
    assert [s["request_id"] for r in tuesday_plan["routes"] for s in r["stops"]] == [str(tolerant.visit_id)]
    # the days' queued re-plans (one per published visit) are answered by the joint plan
    assert await dispatch.sql("SELECT 1 FROM dispatch.replan_requests WHERE day IN ($1, $2)", MONDAY, TUESDAY) == []

    # Anna falls ill at Monday 13:00: Monday is re-planned alone and loses work; Tuesday stays as it was
    sick = await dispatch.client.post(
        f"/technicians/{anna}/absences",
        headers=dispatch.dispatcher,
        json={"kind": "sickness", "starts_at": local(4, 13).isoformat(), "ends_at": local(4, 23).isoformat()},
    )
    assert sick.status_code == 201, sick.text
    replanned = await dispatch.client.post(f"/plans/{MONDAY}/replan", headers=dispatch.dispatcher, json={})
    assert replanned.status_code == 200, replanned.text
    assert replanned.json()["unassigned"] > 0
    after = await bookings(dispatch)
    assert sum(v.visit_id in after for v in monday_only) < 8
    kept = after[tolerant.visit_id]
    before = booked[tolerant.visit_id]
    assert (kept["id"], kept["technician_id"], kept["planned_start"]) == (
        before["id"],
        before["technician_id"],
        before["planned_start"],
    )
    still = (await dispatch.client.get(f"/plans/{TUESDAY}", headers=dispatch.dispatcher)).json()
    assert still["version"] == tuesday_plan["version"]


async def command(dispatch: Dispatch, technician: str, path: str, **body: object) -> None:
    response = await dispatch.client.post(
        f"/me/assignments/{path}",
        headers=dispatch.technician(technician),
        json={"client_command_id": str(uuid.uuid4()), **body},
    )
    assert response.status_code == 200, response.text


async def test_today_in_the_horizon_plans_from_now_and_from_the_job_the_technician_is_on(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=MON_TUE, overtime_minutes=0)
    north = (45.00, 34.10)  # about 5 km from Anna's home
    on_it = maintenance(local(4, 8), local(4, 17), where=north)
    beside = maintenance(local(4, 8), local(5, 17), where=(45.002, 34.102))  # Monday or Tuesday, next door
    for visit in (on_it, beside):
        await dispatch.publish(visit, occurred_at=sunday_evening.now)

    async def both_known() -> bool:
        return bool((await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs"))[0]["n"] == 2)

    await eventually(both_known, what="the visits reach dispatch")
    sunday_evening.now = local(4, 10)  # Monday 10:00: Anna sets off for the first visit, booked by hand
    assigned = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={"request_id": str(on_it.visit_id), "technician_id": anna, "planned_start": local(4, 10, 15).isoformat()},
    )
    assert assigned.status_code == 201, assigned.text
    assignment = assigned.json()["id"]
    await command(dispatch, anna, f"{assignment}/accept")
    await command(dispatch, anna, f"{assignment}/status", status="en_route")
    sunday_evening.now = local(4, 10, 20)
    await command(dispatch, anna, f"{assignment}/status", status="on_site")
    sunday_evening.now = local(4, 10, 30)

    planned = await dispatch.client.post("/horizon/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    assert planned.json()["days"][0]["day"] == str(MONDAY)  # today comes first
    started = await dispatch.sql("SELECT status FROM dispatch.assignments WHERE id = $1", uuid.UUID(assignment))
    assert started[0]["status"] == "on_site"
    # the next-door visit follows the one Anna is on, today, not at 08:00 and not from home on Tuesday
    next_door = (await bookings(dispatch))[beside.visit_id]
    assert local(4, 11, 15) <= next_door["planned_start"] < local(4, 17)
    monday = (await dispatch.client.get(f"/plans/{MONDAY}", headers=dispatch.dispatcher)).json()
    assert [s["request_id"] for r in monday["routes"] for s in r["stops"]] == [
        str(on_it.visit_id),
        str(beside.visit_id),
    ]


async def test_the_scheduled_planning_plans_the_horizon_jointly_or_queues_the_days_when_busy(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=MON_TUE, overtime_minutes=0)
    tolerant = maintenance(local(4, 8), local(6, 17))
    await dispatch.publish(tolerant, occurred_at=sunday_evening.now)
    await eventually(lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs"), what="the visit reaches dispatch")
    await dispatch.sql("DELETE FROM dispatch.replan_requests")
    db, horizon = dispatch.app.state.runtime.db, dispatch.app.state.dispatch.horizon

    conn = await asyncpg.connect(dispatch.database_url)
    try:  # another run is planning: the days are queued for their re-plans, and a dispatcher is told to retry
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", PLANNER_LOCK)
        await horizon.scheduled(db)
        busy = await dispatch.client.post("/horizon/replan", headers=dispatch.dispatcher, json={})
    finally:
        await conn.close()
    queued = await dispatch.sql("SELECT DISTINCT day FROM dispatch.replan_requests ORDER BY day")
    assert [r["day"] for r in queued] == [SUNDAY, MONDAY, TUESDAY, WEDNESDAY]
    assert busy.status_code == 409 and int(busy.headers["retry-after"]) > 0
    assert await dispatch.sql("SELECT 1 FROM dispatch.plans") == []

    await horizon.scheduled(db)  # free now: one joint run plans every day and answers what was queued
    plans = await dispatch.sql("SELECT day, reason FROM dispatch.plans ORDER BY day")
    assert [(r["day"], r["reason"]) for r in plans] == [
        (day, "scheduled planning of the horizon") for day in (SUNDAY, MONDAY, TUESDAY, WEDNESDAY)
    ]
    assert await dispatch.sql("SELECT 1 FROM dispatch.replan_requests") == []
    assert (await bookings(dispatch))[tolerant.visit_id] is not None


def nothing_found(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
    """The solver out of time before a first solution (module level: the planner's worker process takes it by name)."""
    lost = tuple(UnassignedVisit(v.id, v.priority, UnassignedReason.NO_SOLUTION) for v in problem.visits)
    spent = plan_routes(problem, travel, dataclasses.replace(options, time_limit=0.05))  # its KPIs' shape, quickly
    return dataclasses.replace(spent, status=SolveStatus.NO_SOLUTION, routes=(), unassigned=lost)


async def test_a_horizon_run_that_finds_no_plan_leaves_every_day_as_it_was(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=MON_TUE, overtime_minutes=0)
    visit = maintenance(local(4, 8), local(5, 17))
    await dispatch.publish(visit, occurred_at=sunday_evening.now)
    await eventually(lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs"), what="the visit reaches dispatch")
    planned = await dispatch.client.post("/horizon/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    before = await bookings(dispatch)
    versions = await dispatch.sql("SELECT day, version FROM dispatch.plans ORDER BY day")
    await dispatch.sql("DELETE FROM dispatch.replan_requests")

    cases = dispatch.app.state.dispatch
    real, cases.replanner.planner = cases.replanner.planner, nothing_found
    try:
        refused = await dispatch.client.post("/horizon/replan", headers=dispatch.dispatcher, json={})
        await cases.horizon.scheduled(dispatch.app.state.runtime.db)
    finally:
        cases.replanner.planner = real
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "no plan" in refused.json()["detail"] and int(refused.headers["retry-after"]) > 0
    assert await bookings(dispatch) == before
    assert await dispatch.sql("SELECT day, version FROM dispatch.plans ORDER BY day") == versions
    # the scheduled run fell back to the days' own re-plans, which report a failure per day
    queued = await dispatch.sql("SELECT DISTINCT day FROM dispatch.replan_requests ORDER BY day")
    assert [r["day"] for r in queued] == [SUNDAY, MONDAY, TUESDAY, WEDNESDAY]


async def test_a_booking_the_planner_cannot_route_today_is_kept_by_the_horizon_run_not_let_go(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """As a day's re-plan does (test_live_ops): a dispatcher's move of an emergency to Ivan in Kerch, four hours from
    Yalta, that the planner's model can't route, stays booked through the joint run, counted as kept."""
    dispatch = clocked_dispatch
    clock.advance(timedelta(hours=2, minutes=15))  # Monday 10:15
    alushta, kerch, yalta = (44.676, 34.41), (45.357, 36.468), (44.499, 34.16)
    anna = await dispatch.add_technician("Anna Koval", *alushta, weekly_shifts=WEEK)
    ivan = await dispatch.add_technician("Ivan Sidorov", *kerch, skills={"refrigeration": 4}, weekly_shifts=WEEK)
    filed = emergency(clock.now, site=yalta)
    await dispatch.publish(filed, occurred_at=clock.now)
    booked = await active(dispatch, filed.request_id)
    assert booked["tech"] == anna
    moved = await dispatch.client.post(
        f"/assignments/{booked['id']}/reassign", headers=dispatch.dispatcher, json={"technician_id": ivan}
    )
    assert moved.status_code == 200, moved.text
    clock.advance(timedelta(seconds=30))

    planned = await dispatch.client.post("/horizon/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    today = planned.json()["days"][0]
    assert today["day"] == str(clock.now.date()) and today["kpis"]["kept_as_booked"] >= 1
    after = await active(dispatch, filed.request_id)
    assert (after["id"], after["tech"]) == (booked["id"], ivan)
    assert await job_status(dispatch, filed.request_id) == "assigned"
    assert [c for c in today["changes"] if c["request_id"] == str(filed.request_id)] == []


async def test_a_visit_queues_the_re_plan_of_its_first_open_day_only(dispatch: Dispatch, sunday_evening: Clock) -> None:
    """Each day of its window queued, whichever day was planned first took the visit: a contract's visits arriving
    together went to later days one by one while the first had room (the simulated day lost 32 of its 42 visits to
    the next two days). Now the first day it can be served on is planned; the scheduled horizon run does the rest."""
    await dispatch.sql("DELETE FROM dispatch.replan_requests")
    mon_to_wed = maintenance(local(4, 8), local(6, 17))
    # the site opens on Tuesday only: Monday, within the window, is no day for it
    tuesday_only = maintenance(local(4, 8), local(6, 17)).model_copy(
        update={"visit_id": uuid.uuid4(), "access_hours": {"tue": [["09:00", "12:00"]]}}
    )
    for visit in (mon_to_wed, tuesday_only):
        await dispatch.publish(visit, occurred_at=sunday_evening.now)

    async def queued() -> list[tuple[date, str]] | None:
        rows = await dispatch.sql("SELECT day, reason FROM dispatch.replan_requests ORDER BY day")
        return [(r["day"], r["reason"]) for r in rows] if len(rows) >= 2 else None

    assert await eventually(queued, what="the visits queue re-plans") == [
        (MONDAY, "visit planned"),
        (TUESDAY, "visit planned"),
    ]
