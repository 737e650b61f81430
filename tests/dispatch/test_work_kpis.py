"""Through the API on an injected clock: GET /kpis reads each technician's day from dispatch's records (the shift
net of the lunch, on site and driving from the app's steps, kilometres from its position pings), cut at the
company's midnight; bad ranges are refused as problems."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.dispatch.domain.utilisation import haversine_km
from shared.auth import Role

from .conftest import Clock, Dispatch

SITE = (44.97, 34.10)
HOME = (44.95, 34.10)
WEEK = {
    d: {"start": "08:00", "end": "17:00", "break_minutes": 30, "break_earliest": "12:00", "break_latest": "14:00"}
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def local(clock: Clock, hh: int, mm: int = 0, days: int = 0) -> datetime:
    return clock.now.replace(hour=hh, minute=mm, second=0, microsecond=0) + timedelta(days=days)


async def routine_job(dispatch: Dispatch) -> str:
    request_id = uuid.uuid4()
    await dispatch.sql(
        "INSERT INTO dispatch.jobs (request_id, customer_id, site_id, kind, priority, location, "
        "duration_minutes, status) VALUES ($1, $2, $3, 'routine', 'P3', "
        f"'SRID=4326;POINT({SITE[1]} {SITE[0]})', 120, 'open')",
        request_id,
        uuid.uuid4(),
        uuid.uuid4(),
    )
    return str(request_id)


async def send(dispatch: Dispatch, technician: str, path: str, body: dict[str, Any]) -> None:
    answer = await dispatch.client.post(
        path, headers=dispatch.technician(technician), json={**body, "client_command_id": str(uuid.uuid4())}
    )
    assert answer.status_code == 200, answer.text


async def test_the_day_s_utilisation_and_kilometres_come_from_the_app_s_steps_and_pings(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    oleg = await dispatch.add_technician("Oleg Petrov", *HOME, weekly_shifts=WEEK)  # on shift, no work
    booked = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={
            "request_id": await routine_job(dispatch),
            "technician_id": anna,
            "planned_start": local(clock, 9).isoformat(),
        },
    )
    assert booked.status_code == 201, booked.text
    job = f"/me/assignments/{booked.json()['id']}"
    # Anna drives 08:30-09:00 (two pings on the way), works 09:00-11:00; the pings trace HOME -> SITE
    steps = [
        (local(clock, 8, 30), job + "/accept", {}),
        (local(clock, 8, 30), "/me/positions", {"pings": [{"position": {"lat": HOME[0], "lon": HOME[1]}}]}),
        (local(clock, 8, 30), job + "/status", {"status": "en_route"}),
        (local(clock, 8, 45), "/me/positions", {"pings": [{"position": {"lat": 44.96, "lon": 34.10}}]}),
        (local(clock, 9), job + "/status", {"status": "on_site"}),
        (local(clock, 9), "/me/positions", {"pings": [{"position": {"lat": SITE[0], "lon": SITE[1]}}]}),
        (local(clock, 11), job + "/report", {"outcome": "completed", "work_done": "cleaned", "signed_by": "M."}),
    ]
    for at, path, body in steps:
        clock.now = at
        if "pings" in body:
            body = {"pings": [{**p, "at": at.isoformat()} for p in body["pings"]]}
        else:
            body = {**body, "at": at.isoformat()}
        await send(dispatch, anna, path, body)
    clock.now = local(clock, 18)

    report = await dispatch.client.get("/kpis", headers=dispatch.dispatcher)  # today by default
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["first"], body["last"], body["timezone"]) == (str(clock.now.date()),) * 2 + ("Europe/Simferopol",)
    rows = {r["technician_name"]: r for r in body["days"]}
    km = haversine_km(HOME, (44.96, 34.10)) + haversine_km((44.96, 34.10), SITE)
    assert rows["Anna Koval"] == {
        "day": str(clock.now.date()),
        "technician_id": anna,
        "technician_name": "Anna Koval",
        "shift_hours": 8.5,  # 08:00-17:00 less the 30 min lunch
        "on_site_hours": 2.0,
        "driving_hours": 0.5,
        "travel_km": round(km, 2),
        "utilisation": round(2.0 / 8.5, 3),
    }
    assert (rows["Oleg Petrov"]["technician_id"], rows["Oleg Petrov"]["utilisation"]) == (oleg, 0.0)
    total = body["total"]
    assert (total["shift_hours"], total["on_site_hours"], total["utilisation"]) == (17.0, 2.0, round(2 / 17, 3))
    assert total["travel_km"] == round(km, 2) and 2.2 < km < 2.3


async def test_the_days_are_the_company_s_and_count_up_to_now(clocked_dispatch: Dispatch, clock: Clock) -> None:
    """Pings at 23:50 and 00:10 local (20:50 and 21:10 UTC) fall in two days; mid-afternoon counts the shift so far."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    late = [(local(clock, 23, 40), HOME), (local(clock, 23, 50), (44.96, 34.10))]
    early = [(local(clock, 0, 10, days=1), SITE), (local(clock, 0, 20, days=1), HOME)]
    clock.now = local(clock, 15, days=1)
    for at, (lat, lon) in late + early:
        await send(
            dispatch, anna, "/me/positions", {"pings": [{"at": at.isoformat(), "position": {"lat": lat, "lon": lon}}]}
        )
    monday, tuesday = local(clock, 0, days=-1).date(), clock.now.date()
    report = await dispatch.client.get(
        "/kpis", params={"from": str(monday), "to": str(tuesday)}, headers=dispatch.dispatcher
    )
    assert report.status_code == 200, report.text
    days = {r["day"]: r for r in report.json()["days"]}
    assert days[str(monday)]["travel_km"] == round(haversine_km(HOME, (44.96, 34.10)), 2)
    assert days[str(tuesday)]["travel_km"] == round(haversine_km(SITE, HOME), 2)
    assert days[str(monday)]["shift_hours"] == 8.5
    assert days[str(tuesday)]["shift_hours"] == 6.5  # 08:00-15:00 so far, the lunch window behind it


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2030-03-05", "to": "2030-03-04"}, "to"),
        ({"from": "2030-01-01", "to": "2030-06-01"}, "to"),
        ({"from": "9999-12-31"}, "from"),
    ],
)
async def test_a_range_backwards_or_too_long_is_refused_as_a_problem(
    clocked_dispatch: Dispatch, params: dict[str, str], field: str
) -> None:
    refused = await clocked_dispatch.client.get("/kpis", params=params, headers=clocked_dispatch.dispatcher)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"] == field
    customer = clocked_dispatch.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4())
    assert (await clocked_dispatch.client.get("/kpis", headers=customer)).status_code == 403
