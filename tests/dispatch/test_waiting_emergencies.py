"""Through the API on an injected clock (Monday 08:00): an emergency filed before anyone's shift starts is booked
for the first qualified technician who can go; one nobody could take is tried again until someone can, and the
dispatcher is told once, not on every try; a reactive booking keeps room for the lunch still due, in its window."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from services.dispatch.planning import GeoPoint as PlanPoint
from services.dispatch.planning import RoadFactorTravel
from shared.events.common import SkillNeed
from shared.events.requests import ServiceRequestCreated
from tests.support.dispatch_events import request_created
from tests.support.polling import eventually

from .conftest import Clock, Dispatch

SITE = (44.951, 34.101)
NEARBY = (44.95, 34.12)


def shifts(start: str, end: str = "17:00", break_minutes: int = 30) -> dict[str, dict[str, object]]:
    return {
        d: {
            "start": start,
            "end": end,
            "break_minutes": break_minutes,
            "break_earliest": "12:00",
            "break_latest": "14:00",
        }
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }


def local(clock: Clock, hh: int, mm: int = 0) -> datetime:
    return clock.now.replace(hour=hh, minute=mm, second=0, microsecond=0)


def emergency(now: datetime, skills: dict[str, int] | None = None, minutes: int = 60) -> ServiceRequestCreated:
    return request_created(
        now,
        SITE,
        response_in=timedelta(hours=3),
        fix_in=None,
        required_skills=[SkillNeed(skill=s, min_level=v) for s, v in (skills or {"refrigeration": 2}).items()],
        estimated_duration_minutes=minutes,
    )


def drive(origin: tuple[float, float], destination: tuple[float, float]) -> timedelta:
    seconds = RoadFactorTravel().durations([PlanPoint(*origin)], [PlanPoint(*destination)])[0, 0]
    return timedelta(seconds=float(seconds))


async def job_status(dispatch: Dispatch, request_id: uuid.UUID) -> tuple[str, str | None]:
    rows = await dispatch.sql("SELECT status, unplaceable_reason FROM dispatch.jobs WHERE request_id = $1", request_id)
    return (rows[0]["status"], rows[0]["unplaceable_reason"]) if rows else ("", None)


async def offered(dispatch: Dispatch, request_id: uuid.UUID) -> dict[str, object] | None:
    rows = await dispatch.sql(
        "SELECT technician_id::text AS tech, eta, planned_start, planned_end FROM dispatch.assignments"
        " WHERE request_id = $1 AND status = 'offered'",
        request_id,
    )
    return dict(rows[0]) if rows else None


async def retry_waiting(dispatch: Dispatch) -> list[uuid.UUID]:
    """One round of the loop the service runs every `emergency_retry_interval_s`."""
    return await dispatch.app.state.dispatch.placer.retry_waiting(dispatch.app.state.runtime.db)


async def test_an_emergency_before_the_first_shift_goes_to_whoever_starts_first_and_can_make_it(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = local(clock, 7, 40)
    nine = await dispatch.add_technician("Anna Koval", *NEARBY, weekly_shifts=shifts("09:00"))
    unskilled = await dispatch.add_technician(
        "Oleg Petrov", *NEARBY, skills={"refrigeration": 1}, weekly_shifts=shifts("08:00")
    )
    request = emergency(clock.now)
    await dispatch.publish(request, occurred_at=clock.now)

    async def booked() -> dict[str, object] | None:
        return await offered(dispatch, request.request_id)

    booking = await eventually(booked, what="the early emergency is booked")
    assert booking["tech"] == nine and booking["tech"] != unskilled
    # she sets off when her shift starts, not before
    assert booking["eta"] == local(clock, 9) + drive(NEARBY, SITE)
    assert (await job_status(dispatch, request.request_id))[0] == "assigned"


async def test_an_emergency_nobody_could_take_is_booked_once_someone_can_and_announced_once(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = local(clock, 10)
    await dispatch.add_technician("Oleg Petrov", *NEARBY, skills={"refrigeration": 3}, weekly_shifts=shifts("08:00"))
    request = emergency(clock.now, skills={"refrigeration": 2, "gas": 1})
    await dispatch.publish(request, occurred_at=clock.now)

    async def unplaceable() -> bool:
        return (await job_status(dispatch, request.request_id))[0] == "unplaceable"

    await eventually(unplaceable, what="nobody with gas skills: unplaceable")
    announced = "SELECT count(*) AS n FROM dispatch.outbox WHERE subject LIKE '%unplaceable%'"
    assert (await dispatch.sql(announced))[0]["n"] == 1

    assert await retry_waiting(dispatch) == [request.request_id]  # nothing new: still waiting, not re-announced
    assert (await job_status(dispatch, request.request_id))[0] == "unplaceable"
    assert (await dispatch.sql(announced))[0]["n"] == 1

    gas = await dispatch.add_technician(
        "Anna Koval", *NEARBY, skills={"refrigeration": 2, "gas": 1}, weekly_shifts=shifts("08:00")
    )
    await retry_waiting(dispatch)
    booking = await offered(dispatch, request.request_id)
    assert booking is not None and booking["tech"] == gas
    assert (await job_status(dispatch, request.request_id))[0] == "assigned"
    assert await retry_waiting(dispatch) == []


async def test_a_reactive_booking_leaves_room_for_the_lunch_still_due(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    clock.now = local(clock, 14)
    # on until 16:00 (+60 min overtime), a 45 min lunch not taken yet: 17:00 - 45 min is the last return home
    anna = await dispatch.add_technician("Anna Koval", *NEARBY, weekly_shifts=shifts("08:00", "16:00", 45))
    fits = emergency(clock.now, minutes=120)  # 14:00 + drive + 2 h + drive home: before 16:15
    await dispatch.publish(fits, occurred_at=clock.now)

    async def booked() -> dict[str, object] | None:
        return await offered(dispatch, fits.request_id)

    assert (await eventually(booked, what="the first emergency is booked"))["tech"] == anna
    squeezes = emergency(clock.now, minutes=45)  # after the first: back home after 17:00 - 45 min
    await dispatch.publish(squeezes, occurred_at=clock.now)

    async def refused() -> bool:
        return (await job_status(dispatch, squeezes.request_id))[0] == "unplaceable"

    await eventually(refused, what="the second would squeeze out the lunch: unplaceable")


async def test_a_reactive_booking_keeps_no_room_for_a_lunch_already_taken(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """The same day as above, but Anna took her lunch early: only the break command log remembers it (the
    technician's `break_ends_at` lasts only while the break does), and both emergencies fit."""
    dispatch = clocked_dispatch
    clock.now = local(clock, 14)
    anna = await dispatch.add_technician("Anna Koval", *NEARBY, weekly_shifts=shifts("08:00", "16:00", 45))
    for on_break in (True, False):
        taken = await dispatch.client.post(
            "/me/break",
            headers=dispatch.technician(anna),
            json={"client_command_id": str(uuid.uuid4()), "on_break": on_break, "minutes": 45},
        )
        assert taken.status_code == 200, taken.text
    first, second = emergency(clock.now, minutes=120), emergency(clock.now, minutes=45)
    for event in (first, second):
        await dispatch.publish(event, occurred_at=clock.now)

    async def both_booked() -> list[object] | None:
        booked = [await offered(dispatch, e.request_id) for e in (first, second)]
        statuses = [(await job_status(dispatch, e.request_id))[0] for e in (first, second)]
        assert "unplaceable" not in statuses, statuses
        return [b["tech"] for b in booked if b] if all(booked) else None

    assert await eventually(both_booked, what="both emergencies booked for Anna") == [anna, anna]


@pytest.mark.parametrize(("minutes", "after_lunch"), [(60, False), (180, True)])
async def test_an_emergency_that_would_take_the_lunch_window_is_booked_after_the_lunch(
    clocked_dispatch: Dispatch, clock: Clock, minutes: int, after_lunch: bool
) -> None:
    """At 11:30, a 30 min lunch due to start between 12:00 and 14:00: an hour's job ends by 12:31 and the lunch
    follows it; three hours' would run to 14:31, so Anna takes the lunch at 12:00 and sets off at 12:30."""
    dispatch = clocked_dispatch
    clock.now = local(clock, 11, 30)
    anna = await dispatch.add_technician("Anna Koval", *NEARBY, weekly_shifts=shifts("08:00"))
    request = emergency(clock.now, minutes=minutes)
    await dispatch.publish(request, occurred_at=clock.now)

    async def booked() -> dict[str, object] | None:
        return await offered(dispatch, request.request_id)

    booking = await eventually(booked, what="the emergency is booked")
    sets_off = local(clock, 12, 30) if after_lunch else clock.now
    assert booking["tech"] == anna and booking["eta"] == sets_off + drive(NEARBY, SITE)
