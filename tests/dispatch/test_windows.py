"""Several windows per visit and site access hours as windows (issue 17), through dispatch's events and API on
real PostGIS and NATS: a visit lands inside one of its windows (never between them), a dispatcher's booking
outside every window is refused with the reason, and a site's access hours restrict its planned visit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio

from shared.events.contracts import VisitPlanned
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
SITE = (44.96, 34.11)


MONDAY, TUESDAY = local(4, 0).date(), local(5, 0).date()
# Monday 07:00-07:30 or Tuesday 16:00-16:30: the merged span would have allowed Monday noon
WINDOWS = [
    PreferredWindow(start=local(4, 7), end=local(4, 7, 30)),
    PreferredWindow(start=local(5, 16), end=local(5, 16, 30)),
]


@pytest_asyncio.fixture
async def dispatch(
    database_url: str, nats_server: NatsServer, keys: Keys, sunday_evening: Clock
) -> AsyncIterator[Dispatch]:
    async with dispatch_app(database_url, nats_server, keys, sunday_evening) as running:
        yield running


def routine(now: datetime, windows: list[PreferredWindow]) -> ServiceRequestCreated:
    return request_created(
        now,
        SITE,
        fix_in=None,
        kind="routine",
        priority="P3",
        # as requests sets it for a customer's windows: due by the end of the earliest one
        response_due=windows[0].end,
        estimated_duration_minutes=45,
        preferred_windows=windows,
        address="Kievskaya 1",
    )


async def file_routine(dispatch: Dispatch, clock: Clock) -> ServiceRequestCreated:
    request = routine(clock.now, WINDOWS)
    await dispatch.publish(request, occurred_at=clock.now)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", request.request_id))

    await eventually(known, what="the routine request reaches dispatch")
    return request


async def booking_of(dispatch: Dispatch, request_id: uuid.UUID) -> Any:
    rows = await dispatch.sql(
        "SELECT id, planned_start, eta FROM dispatch.assignments WHERE request_id = $1 AND status = 'offered'",
        request_id,
    )
    return rows[0] if rows else None


async def test_a_routine_request_with_two_windows_is_planned_inside_one_of_them_not_in_the_gap(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    request = await file_routine(dispatch, sunday_evening)
    # each window's day is queued for a re-plan, not only the first's
    queued = await dispatch.sql("SELECT DISTINCT day FROM dispatch.replan_requests ORDER BY day")
    assert [r["day"] for r in queued] == [MONDAY, TUESDAY]

    monday = await dispatch.client.post(f"/plans/{MONDAY}/replan", headers=dispatch.dispatcher, json={})
    assert monday.status_code == 200, monday.text
    assert await booking_of(dispatch, request.request_id) is None  # Monday noon (in the gap) is no option
    plan = (await dispatch.client.get(f"/plans/{MONDAY}", headers=dispatch.dispatcher)).json()
    left = {u["request_id"]: u for u in plan["unassigned"]}
    # 07:00-07:30 is over before Anna's shift starts at 08:00: said so, not "no time left"
    assert left[str(request.request_id)]["reason"] == "outside_every_shift"

    # maintenance next door just before: Anna is there by 15:45 and waits for the customer's 16:00
    before = visit(None, local(5, 15), local(5, 15, 5))
    await dispatch.publish(before, occurred_at=sunday_evening.now)
    await eventually(lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", before.visit_id))
    tuesday = await dispatch.client.post(f"/plans/{TUESDAY}/replan", headers=dispatch.dispatcher, json={})
    assert tuesday.status_code == 200, tuesday.text
    booked = await booking_of(dispatch, request.request_id)
    assert booked is not None  # though its response was due by the end of the Monday window
    assert local(5, 16) <= booked["planned_start"] <= local(5, 16, 30)
    assert (await booking_of(dispatch, before.visit_id))["planned_start"] == local(5, 15)
    assert local(5, 16) <= booked["eta"] <= local(5, 16, 30)  # the customer is promised their window, not 15:45
    shown = await dispatch.client.get(f"/assignments/{booked['id']}", headers=dispatch.dispatcher)
    assert local(5, 16) <= datetime.fromisoformat(shown.json()["eta"]) <= local(5, 16, 30)

    # the technician sees the window of this stop, the dispatcher every window of the request
    day = (await dispatch.client.get("/me/day", params={"day": str(TUESDAY)}, headers=dispatch.technician(anna))).json()
    window = next(s["window"] for s in day["stops"] if s["request_id"] == str(request.request_id))
    assert [datetime.fromisoformat(window["start"]), datetime.fromisoformat(window["end"])] == [
        local(5, 16),
        local(5, 16, 30),
    ]
    board = (await dispatch.client.get("/board", headers=dispatch.dispatcher)).json()
    row = next(r for r in board["requests"] if r["request_id"] == str(request.request_id))
    assert [[datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])] for w in row["windows"]] == [
        [w.start, w.end] for w in WINDOWS
    ]


async def test_a_dispatchers_booking_outside_every_window_is_refused_with_the_reason(
    dispatch: Dispatch, sunday_evening: Clock
) -> None:
    anna = await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    request = await file_routine(dispatch, sunday_evening)

    refused = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={"request_id": str(request.request_id), "technician_id": anna, "planned_start": local(4, 12).isoformat()},
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["errors"] == [
        {
            "field": "planned_start",
            "reason": f"Mon 04.03 12:00 is outside every window of request {request.request_id}: "
            "Mon 04.03 07:00-07:30, Tue 05.03 16:00-16:30",
        }
    ]
    assert await booking_of(dispatch, request.request_id) is None

    inside = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={
            "request_id": str(request.request_id),
            "technician_id": anna,
            "planned_start": local(5, 16, 10).isoformat(),
        },
    )
    assert inside.status_code == 201, inside.text
    assignment = inside.json()["id"]
    # dragged on the board into the gap: refused the same way, the booking stays where it was
    dragged = await dispatch.client.post(
        f"/assignments/{assignment}/reassign",
        headers=dispatch.dispatcher,
        json={"technician_id": anna, "planned_start": local(5, 9).isoformat()},
    )
    assert dragged.status_code == 422 and dragged.json()["errors"][0]["field"] == "planned_start"
    assert "Tue 05.03 09:00 is outside every window" in dragged.json()["errors"][0]["reason"]
    assert (await booking_of(dispatch, request.request_id))["planned_start"] == local(5, 16, 10)

    # no time given: the first window still open when Anna can get there (she is 2 km away on Sunday evening)
    moved = await dispatch.client.post(
        f"/assignments/{assignment}/reassign", headers=dispatch.dispatcher, json={"technician_id": anna}
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["planned_start"]) == local(4, 7)
    assert datetime.fromisoformat(moved.json()["eta"]) == local(4, 7)

    sunday_evening.advance(timedelta(days=1))  # Monday 20:00: the Monday window is over
    later = await dispatch.client.post(
        f"/assignments/{assignment}/reassign", headers=dispatch.dispatcher, json={"technician_id": anna}
    )
    assert datetime.fromisoformat(later.json()["planned_start"]) == local(5, 16)
    sunday_evening.advance(timedelta(days=1))  # Tuesday 20:00: every window is over
    closed = await dispatch.client.post(
        f"/assignments/{assignment}/reassign", headers=dispatch.dispatcher, json={"technician_id": anna}
    )
    assert closed.status_code == 422
    assert "every window of request" in closed.json()["errors"][0]["reason"]


def visit(
    hours: dict[str, list[list[str]]] | None, start: datetime = local(4, 8), end: datetime = local(4, 17)
) -> VisitPlanned:
    return visit_planned(
        start, end, SITE, minutes=45, address="Pushkina 5", timezone="Europe/Simferopol", access_hours=hours
    )


async def test_a_sites_access_hours_restrict_its_planned_visit(dispatch: Dispatch, sunday_evening: Clock) -> None:
    await dispatch.add_technician("Anna Koval", *SIMFEROPOL, weekly_shifts=WEEK)
    afternoon = visit({"mon": [["14:00", "16:00"]], "tue": [["08:00", "20:00"]]})
    any_time = visit(None)
    closed = visit({"sat": [["09:00", "13:00"]]})  # never open while the visit is due
    for v in (afternoon, any_time, closed):
        await dispatch.publish(v, occurred_at=sunday_evening.now)

    async def all_known() -> bool:
        rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.jobs WHERE kind = 'planned'")
        return bool(rows[0]["n"] == 3)

    await eventually(all_known, what="the visits reach dispatch")
    reasons = {
        r["request_id"]: r["unplaceable_reason"]
        for r in await dispatch.sql("SELECT request_id, unplaceable_reason FROM dispatch.jobs")
    }
    assert reasons == {
        afternoon.visit_id: None,
        any_time.visit_id: None,
        closed.visit_id: "the site's access hours leave no time in the visit's window",
    }

    planned = await dispatch.client.post(f"/plans/{MONDAY}/replan", headers=dispatch.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    restricted = await booking_of(dispatch, afternoon.visit_id)
    assert restricted is not None and local(4, 14) <= restricted["planned_start"] <= local(4, 16)
    assert await booking_of(dispatch, any_time.visit_id) is not None
    assert await booking_of(dispatch, closed.visit_id) is None

    # and a dispatcher can't book it in the morning either
    anna = (await dispatch.sql("SELECT id FROM dispatch.technicians"))[0]["id"]
    refused = await dispatch.client.post(
        f"/assignments/{restricted['id']}/reassign",
        headers=dispatch.dispatcher,
        json={"technician_id": str(anna), "planned_start": local(4, 10).isoformat()},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["reason"].endswith("Mon 04.03 14:00-16:00")
