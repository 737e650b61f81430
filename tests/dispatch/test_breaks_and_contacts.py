"""Through the API on an injected clock: a technician on a break and an emergency next to them; contacts shown."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

import pytest

from services.dispatch.planning import GeoPoint as PlanPoint
from services.dispatch.planning import RoadFactorTravel
from services.dispatch.settings import Settings
from shared.events.requests import ServiceRequestCreated
from tests.support.dispatch_events import request_created, visit_planned
from tests.support.polling import eventually

from .conftest import Clock, Dispatch

SITE = (44.951, 34.101)
BESIDE_THE_SITE = (44.95, 34.10)
FAR = (44.95, 34.40)  # about 45 minutes' drive from the site
RESPONSE_DUE = timedelta(hours=2)


def drive_minutes(origin: tuple[float, float], destination: tuple[float, float]) -> float:
    seconds = RoadFactorTravel().durations([PlanPoint(*origin)], [PlanPoint(*destination)])[0, 0]
    return float(seconds) / 60


def emergency(now: datetime) -> ServiceRequestCreated:
    return request_created(
        now,
        SITE,
        response_in=RESPONSE_DUE,
        fix_in=None,
        contact_name="Marina",
        contact_phone="+7 978 000 00 00",
        address="Kirova 7, Simferopol",
    )


async def booked(dispatch: Dispatch, request: ServiceRequestCreated) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        rows = await dispatch.sql(
            "SELECT technician_id::text AS tech, eta FROM dispatch.assignments "
            "WHERE request_id = $1 AND status = 'offered'",
            request.request_id,
        )
        return dict(rows[0]) if rows else None

    return await eventually(probe, what="the emergency is booked")


# the default the app runs with: how much later than the far technician's arrival still counts as soon enough
SLACK = int(Settings().emergency_detour().slack(60 * drive_minutes(FAR, SITE), RESPONSE_DUE.total_seconds()) / 60)


@pytest.mark.parametrize(
    ("break_vs_drive_minutes", "goes_to"),
    [
        (-15, "resting"),  # there first anyway
        (SLACK - 5, "resting"),  # a little later, but it spares the other a 90-minute round trip
        (SLACK + 15, "far"),  # later by more than the detour is worth
    ],
)
async def test_an_emergency_beside_a_technician_on_a_break_goes_to_them_unless_far_sooner_by_more_than_the_slack(
    clocked_dispatch: Dispatch, clock: Clock, break_vs_drive_minutes: int, goes_to: str
) -> None:
    dispatch = clocked_dispatch
    technicians = {
        "resting": await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE),  # always on duty
        "far": await dispatch.add_technician("Oleg Petrov", *FAR),
    }
    minutes = math.ceil(drive_minutes(FAR, SITE)) + break_vs_drive_minutes
    on_break = await dispatch.client.post(
        "/me/break",
        headers=dispatch.technician(technicians["resting"]),
        json={"client_command_id": str(uuid.uuid4()), "on_break": True, "minutes": minutes},
    )
    assert on_break.status_code == 200, on_break.text
    break_ends = clock.now + timedelta(minutes=minutes)
    assert datetime.fromisoformat(on_break.json()["break_ends_at"]) == break_ends

    request = emergency(clock.now)
    await dispatch.publish(request, occurred_at=clock.now)
    booking = await booked(dispatch, request)
    assert booking["tech"] == technicians[goes_to]
    eta = booking["eta"]
    assert isinstance(eta, datetime)
    if goes_to == "resting":
        assert eta >= break_ends  # after the break
    else:
        assert eta < break_ends  # sooner than the one on a break could be there


async def test_my_day_and_the_board_show_whom_to_ask_for_and_where(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE)
    request = emergency(clock.now)
    await dispatch.publish(request, occurred_at=clock.now)
    await booked(dispatch, request)

    day = await dispatch.client.get("/me/day", headers=dispatch.technician(anna))
    assert day.status_code == 200, day.text
    (stop,) = day.json()["stops"]
    assert stop["request_id"] == str(request.request_id)
    assert stop["contact"] == {"customer_id": str(request.customer_id), "name": "Marina", "phone": "+7 978 000 00 00"}
    assert stop["site"]["location"] == {"lat": SITE[0], "lon": SITE[1]}
    assert stop["site"]["address"] == "Kirova 7, Simferopol"

    board = await dispatch.client.get("/board", headers=dispatch.dispatcher)
    assert board.status_code == 200, board.text
    (entry,) = [r for r in board.json()["requests"] if r["request_id"] == str(request.request_id)]
    assert (entry["contact_name"], entry["contact_phone"]) == ("Marina", "+7 978 000 00 00")
    assert entry["address"] == "Kirova 7, Simferopol"


async def test_a_planned_visit_shows_the_site_contact_and_address(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE)
    visit = visit_planned(
        clock.now + timedelta(hours=1),
        clock.now + timedelta(hours=8),
        SITE,
        minutes=45,
        address="Pushkina 3, Simferopol",
        site_contact_name="Oksana",
        site_contact_phone="+7 978 555 66 77",
    )
    await dispatch.publish(visit, occurred_at=clock.now)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", visit.visit_id))

    await eventually(known, what="the visit reaches dispatch")
    assigned = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={
            "request_id": str(visit.visit_id),
            "technician_id": anna,
            "planned_start": (clock.now + timedelta(hours=2)).isoformat(),
        },
    )
    assert assigned.status_code == 201, assigned.text

    day = await dispatch.client.get("/me/day", headers=dispatch.technician(anna))
    assert day.status_code == 200, day.text
    (stop,) = day.json()["stops"]
    assert (stop["request_id"], stop["kind"]) == (str(visit.visit_id), "planned")
    assert stop["contact"] == {"customer_id": str(visit.customer_id), "name": "Oksana", "phone": "+7 978 555 66 77"}
    assert stop["site"]["address"] == "Pushkina 3, Simferopol"

    board = await dispatch.client.get("/board", headers=dispatch.dispatcher)
    (entry,) = [r for r in board.json()["requests"] if r["request_id"] == str(visit.visit_id)]
    assert (entry["address"], entry["contact_name"], entry["contact_phone"]) == (
        "Pushkina 3, Simferopol",
        "Oksana",
        "+7 978 555 66 77",
    )


async def test_a_round_the_clock_technician_takes_an_emergency_late_in_the_evening_past_midnight(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = clock.now.replace(hour=23, minute=30)  # the shifts are laid out from this moment on
    anna = await dispatch.add_technician("Anna Koval", *FAR)  # no shifts, round the clock: ~45 min away
    request = emergency(clock.now)
    await dispatch.publish(request, occurred_at=clock.now)

    booking = await booked(dispatch, request)
    assert booking["tech"] == anna
    ends = await dispatch.sql("SELECT planned_end FROM dispatch.assignments WHERE request_id = $1", request.request_id)
    midnight = (clock.now + timedelta(days=1)).replace(hour=0, minute=0)
    assert ends[0]["planned_end"] > midnight, "the job runs on past midnight into the next day's shift"
