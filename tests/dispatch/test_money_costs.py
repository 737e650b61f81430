"""Money in dispatch's plans (issue 17), through its events and API on real PostGIS and NATS: a contract's penalty
per hour late decides who is served first when both can't be on time, a visit's value what is left out, and a
technician's daily driving limit and overtime rate are set through the technician API and kept by the plan."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio

from shared.events.requests import PreferredWindow, ServiceRequestCreated
from tests.conftest import Keys
from tests.support.dispatch_events import request_created, visit_planned
from tests.support.infra import NatsServer
from tests.support.polling import eventually

from .conftest import Clock, Dispatch, dispatch_app
from .conftest import march_2030 as local

TZ = ZoneInfo("Europe/Simferopol")
WEEK = {d: {"start": "08:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SIMFEROPOL = (44.952, 34.102)
KM_LON = 1 / 78.8  # a kilometre east or west at this latitude, in degrees of longitude


MONDAY = local(4, 0).date()


@pytest_asyncio.fixture
async def dispatch(
    database_url: str, nats_server: NatsServer, keys: Keys, sunday_evening: Clock
) -> AsyncIterator[Dispatch]:
    async with dispatch_app(database_url, nats_server, keys, sunday_evening, travel_cost_per_hour=30.0) as running:
        yield running


def request(
    now: datetime, km_east: float, due: datetime, minutes: int = 90, **money: float | None
) -> ServiceRequestCreated:
    """A routine P3 request on Monday morning, ``km_east`` of Simferopol, due at ``due``."""
    return request_created(
        now,
        (SIMFEROPOL[0], SIMFEROPOL[1] + km_east * KM_LON),
        response_in=due - now,
        fix_in=None,
        kind="routine",
        priority="P3",
        contract_id=uuid.uuid4(),
        estimated_duration_minutes=minutes,
        preferred_windows=[PreferredWindow(start=local(4, 8), end=local(4, 13))],
        **money,
    )


async def file(dispatch: Dispatch, clock: Clock, *requests: ServiceRequestCreated) -> None:
    for r in requests:
        await dispatch.publish(r, occurred_at=clock.now)

    async def known() -> bool:
        rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs")
        return bool(rows[0]["n"] == len(requests))

    await eventually(known, what="the requests reach dispatch")


async def plan_monday(dispatch: Dispatch) -> dict[str, Any]:
    planned = await dispatch.client.post(f"/plans/{MONDAY}/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    shown = await dispatch.client.get(f"/plans/{MONDAY}", headers=dispatch.dispatcher)
    assert shown.status_code == 200, shown.text
    return shown.json()  # type: ignore[no-any-return]


async def starts(dispatch: Dispatch) -> dict[uuid.UUID, datetime]:
    rows = await dispatch.sql("SELECT request_id, planned_start FROM dispatch.assignments WHERE status = 'offered'")
    return {r["request_id"]: r["planned_start"] for r in rows}


async def test_the_request_whose_contract_charges_more_for_lateness_is_served_first(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    # 10 km west, due 08:30, its contract charges 30 an hour late; 10 km east, due 09:00, charged 600 an hour late.
    # Whichever is second is over an hour late: by the deadlines alone (the planner's default) west goes first.
    cheap = request(sunday_evening.now, -10, local(4, 8, 30), late_penalty_per_hour=30.0, visit_value=5000.0)
    dear = request(sunday_evening.now, 10, local(4, 9), late_penalty_per_hour=600.0, visit_value=5000.0)
    await file(dispatch, sunday_evening, cheap, dear)
    stored = await dispatch.sql("SELECT request_id, late_penalty_per_hour, visit_value FROM dispatch.jobs")
    assert {r["request_id"]: (r["late_penalty_per_hour"], r["visit_value"]) for r in stored} == {
        cheap.request_id: (30.0, 5000.0),
        dear.request_id: (600.0, 5000.0),
    }

    await plan_monday(dispatch)
    booked = await starts(dispatch)
    assert booked.keys() == {cheap.request_id, dear.request_id}
    assert booked[dear.request_id] <= local(4, 9) < booked[cheap.request_id]


async def test_without_money_terms_the_earlier_deadline_goes_first(dispatch: Dispatch, sunday_evening: Clock) -> None:
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    west = request(sunday_evening.now, -10, local(4, 8, 30))
    east = request(sunday_evening.now, 10, local(4, 9))
    await file(dispatch, sunday_evening, west, east)
    await plan_monday(dispatch)
    booked = await starts(dispatch)
    assert booked[west.request_id] <= local(4, 8, 30) < booked[east.request_id]


async def test_of_two_requests_that_cannot_both_fit_the_more_valuable_is_planned(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    short = {d: {"start": "08:00", "end": "11:00"} for d in WEEK}
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=short, overtime_minutes=0)
    # two 2-hour jobs a kilometre away in a 3-hour shift: one fits. The nearer is worth little to its contract.
    near = request(sunday_evening.now, 1, local(4, 13), minutes=120, visit_value=20.0)
    farther = request(sunday_evening.now, -2, local(4, 13), minutes=120, visit_value=2000.0)
    await file(dispatch, sunday_evening, near, farther)
    plan = await plan_monday(dispatch)
    assert (await starts(dispatch)).keys() == {farther.request_id}
    assert [u["request_id"] for u in plan["unassigned"]] == [str(near.request_id)]
    assert plan["kpis"]["unassigned_value"] == 20.0  # in money: what the near one's contract says it is worth
    assert plan["kpis"]["cost"] > 20.0  # and the driving on top


async def test_a_technicians_daily_driving_limit_is_set_through_the_api_and_kept_by_the_plan(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    refused = await dispatch.client.post(
        "/technicians",
        headers=dispatch.dispatcher,
        json={"name": "Anna Koval", "home_base": {"lat": SIMFEROPOL[0], "lon": SIMFEROPOL[1]}, "max_travel_minutes": 0},
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["max_travel_minutes"]
    refused = await dispatch.client.post(
        "/technicians",
        headers=dispatch.dispatcher,
        json={"name": "Anna", "home_base": {"lat": 44.9, "lon": 34.1}, "overtime_cost_per_hour": -5},
    )
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["overtime_cost_per_hour"]

    anna = await dispatch.add_technician(
        "Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK, max_travel_minutes=30, overtime_cost_per_hour=45.5
    )
    shown = (await dispatch.client.get(f"/technicians/{anna}", headers=dispatch.dispatcher)).json()
    assert (shown["max_travel_minutes"], shown["overtime_cost_per_hour"], shown["overtime_minutes"]) == (30, 45.5, 60)

    # 2 km and 20 km away: the far one alone is over an hour of driving there and back, past her 30 minutes
    near = request(sunday_evening.now, 2, local(4, 13), minutes=30)
    far = request(sunday_evening.now, 20, local(4, 13), minutes=30)
    await file(dispatch, sunday_evening, near, far)
    plan = await plan_monday(dispatch)
    assert (await starts(dispatch)).keys() == {near.request_id}
    assert {u["request_id"]: u["reason"] for u in plan["unassigned"]} == {str(far.request_id): "max_travel"}

    # lifted: the days ahead are queued for a re-plan, and Monday's plan takes both
    lifted = await dispatch.client.put(
        f"/technicians/{anna}/limits", headers=dispatch.dispatcher, json={"overtime_minutes": 30}
    )
    assert lifted.status_code == 200, lifted.text
    assert (lifted.json()["max_travel_minutes"], lifted.json()["overtime_minutes"]) == (None, 30)
    queued = await dispatch.sql("SELECT reason FROM dispatch.replan_requests WHERE day = $1", MONDAY)
    assert "a technician's limits changed" in {r["reason"] for r in queued}
    plan = await plan_monday(dispatch)
    assert (await starts(dispatch)).keys() == {near.request_id, far.request_id} and plan["unassigned"] == []
    unknown = await dispatch.client.put(f"/technicians/{uuid.uuid4()}/limits", headers=dispatch.dispatcher, json={})
    assert unknown.status_code == 404


async def test_a_planned_visit_brings_its_contracts_money_terms(dispatch: Dispatch, sunday_evening: Clock) -> None:
    visit = visit_planned(local(4, 8), local(4, 17), SIMFEROPOL, minutes=45, late_penalty_per_hour=120.0)
    await dispatch.publish(visit, occurred_at=sunday_evening.now)

    async def stored() -> list[Any]:
        return await dispatch.sql(
            "SELECT late_penalty_per_hour, visit_value FROM dispatch.jobs WHERE request_id = $1", visit.visit_id
        )

    await eventually(stored, what="the visit reaches dispatch")
    assert [tuple(r) for r in await stored()] == [(120.0, None)]


async def test_what_was_driven_earlier_in_the_day_counts_against_the_daily_limit(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    clock = Clock(local(4, 7))  # Monday 07:00: the re-plans are of today
    async with dispatch_app(database_url, nats_server, keys, clock) as dispatch:
        anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK, max_travel_minutes=60)
        east = request(clock.now, 10, local(4, 13), minutes=30)  # some 22 minutes' drive from home
        await file(dispatch, clock, east)
        await plan_monday(dispatch)
        [booking] = await dispatch.sql("SELECT id, planned_start FROM dispatch.assignments")
        site = {"lat": east.location.lat, "lon": east.location.lon}
        for status, position, minutes in (("accepted", None, 60), ("en_route", None, 61), ("on_site", site, 85)):
            clock.now = local(4, 7) + timedelta(minutes=minutes)
            body = {"status": status, "at": clock.now.isoformat(), "position": position}
            stepped = await dispatch.client.post(
                f"/assignments/{booking['id']}/status", headers=dispatch.technician(anna), json=body
            )
            assert stepped.status_code == 200, stepped.text
        clock.now = local(4, 8, 55)
        report = {
            "client_command_id": str(uuid.uuid4()),
            "at": clock.now.isoformat(),
            "position": site,
            "outcome": "completed",
            "signed_by": "M. Ivanova",
        }
        done = await dispatch.client.post(
            f"/me/assignments/{booking['id']}/report", headers=dispatch.technician(anna), json=report
        )
        assert done.status_code == 200, done.text

        # 5 km west of home: from the east site there and home is some 45 minutes, within a fresh hour's limit but
        # not within what is left of it after the morning's drive out
        west = request(clock.now, -5, local(4, 13), minutes=30)
        await dispatch.publish(west, occurred_at=clock.now)
        await eventually(
            lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", west.request_id),
            what="the second request reaches dispatch",
        )
        plan = await plan_monday(dispatch)
        assert {u["request_id"]: u["reason"] for u in plan["unassigned"]} == {str(west.request_id): "max_travel"}

        # a longer limit leaves room for it
        await dispatch.client.put(
            f"/technicians/{anna}/limits", headers=dispatch.dispatcher, json={"max_travel_minutes": 90}
        )
        plan = await plan_monday(dispatch)
        assert plan["unassigned"] == [] and west.request_id in await starts(dispatch)
