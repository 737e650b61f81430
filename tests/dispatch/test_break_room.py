"""Through the API on an injected clock: manual bookings leave room for the lunch break, the board's predicted
arrival counts a break still to take, and the board's statements do not grow with the fleet."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from services.dispatch.planning import GeoPoint as PlanPoint
from services.dispatch.planning import RoadFactorTravel
from tests.support.dispatch_events import request_created
from tests.support.polling import eventually

from .conftest import Clock, Dispatch

SITE = (44.951, 34.101)
BESIDE_THE_SITE = (44.95, 34.10)
# 08:00-17:00 every day, a 30 min lunch to start between 12:00 and 14:00
WEEK = {
    d: {"start": "08:00", "end": "17:00", "break_minutes": 30, "break_earliest": "12:00", "break_latest": "14:00"}
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
}


def local(clock: Clock, hh: int, mm: int = 0) -> datetime:
    return clock.now.replace(hour=hh, minute=mm, second=0, microsecond=0)


async def routine_job(dispatch: Dispatch, minutes: int) -> str:
    request_id = uuid.uuid4()
    await dispatch.sql(
        "INSERT INTO dispatch.jobs (request_id, customer_id, site_id, kind, priority, location, "
        "duration_minutes, status) VALUES ($1, $2, $3, 'routine', 'P3', "
        f"'SRID=4326;POINT({SITE[1]} {SITE[0]})', $4, 'open')",
        request_id,
        uuid.uuid4(),
        uuid.uuid4(),
        minutes,
    )
    return str(request_id)


async def assign(dispatch: Dispatch, request_id: str, technician_id: str, start: datetime) -> Any:
    return await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={"request_id": request_id, "technician_id": technician_id, "planned_start": start.isoformat()},
    )


async def test_a_manual_booking_that_takes_the_last_room_for_the_lunch_break_is_refused(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE, weekly_shifts=WEEK)
    morning = await assign(dispatch, await routine_job(dispatch, 120), anna, local(clock, 11))  # 11:00-13:00
    assert morning.status_code == 201, morning.text

    afternoon = await routine_job(dispatch, 90)
    refused = await assign(dispatch, afternoon, anna, local(clock, 13, 15))  # 13:15-14:45: 15 min left
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert "leaves Anna no room for the 30 min break" in detail and "between 12:00 and 14:00" in detail
    assert afternoon in detail and "13:15 to 14:45" in detail

    booked = await assign(dispatch, afternoon, anna, local(clock, 13, 30))  # 13:00-13:30 is the lunch
    assert booked.status_code == 201, booked.text

    # moving the morning job later eats the lunch gap: refused; moving it earlier frees it: fine
    later = await dispatch.client.post(
        f"/assignments/{morning.json()['id']}/reassign",
        headers=dispatch.dispatcher,
        json={"technician_id": anna, "planned_start": local(clock, 11, 20).isoformat()},
    )
    assert later.status_code == 409, later.text
    assert "leaves Anna no room for the 30 min break" in later.json()["detail"]
    earlier = await dispatch.client.post(
        f"/assignments/{morning.json()['id']}/reassign",
        headers=dispatch.dispatcher,
        json={"technician_id": anna, "planned_start": local(clock, 9).isoformat()},
    )
    assert earlier.status_code == 200, earlier.text


async def test_a_break_already_taken_today_needs_no_room(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE, weekly_shifts=WEEK)
    for on_break in (True, False):  # an early break, over again: only the command log remembers it
        taken = await dispatch.client.post(
            "/me/break",
            headers=dispatch.technician(anna),
            json={"client_command_id": str(uuid.uuid4()), "on_break": on_break, "minutes": 30},
        )
        assert taken.status_code == 200, taken.text
    whole_lunch = await assign(dispatch, await routine_job(dispatch, 240), anna, local(clock, 11))
    assert whole_lunch.status_code == 201, whole_lunch.text


async def test_a_technician_without_a_break_can_be_booked_through_lunch(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    oleg = await dispatch.add_technician("Oleg Petrov", *BESIDE_THE_SITE)  # always on duty, no break rule
    booked = await assign(dispatch, await routine_job(dispatch, 240), oleg, local(clock, 11))
    assert booked.status_code == 201, booked.text


def drive(origin: tuple[float, float], destination: tuple[float, float]) -> timedelta:
    seconds = RoadFactorTravel().durations([PlanPoint(*origin)], [PlanPoint(*destination)])[0, 0]
    return timedelta(seconds=float(seconds))


@pytest.mark.parametrize("lunch_taken", [False, True])
async def test_the_board_predicts_the_arrival_after_a_lunch_still_to_take(
    clocked_dispatch: Dispatch, clock: Clock, lunch_taken: bool
) -> None:
    dispatch = clocked_dispatch
    clock.now = local(clock, 12)
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE, weekly_shifts=WEEK)
    if lunch_taken:
        for on_break in (True, False):
            await dispatch.client.post(
                "/me/break",
                headers=dispatch.technician(anna),
                json={"client_command_id": str(uuid.uuid4()), "on_break": on_break, "minutes": 30},
            )
    clock.now = local(clock, 13, 45)
    # no other technician: the emergency is booked for Anna even if late (after the lunch, when it is still due)
    request = request_created(clock.now, SITE, response_in=timedelta(minutes=20), fix_in=None)
    await dispatch.publish(request, occurred_at=clock.now)

    async def booked() -> dict[str, Any] | None:
        rows = await dispatch.sql("SELECT eta FROM dispatch.assignments WHERE request_id = $1", request.request_id)
        return dict(rows[0]) if rows else None

    eta = (await eventually(booked, what="the emergency is booked"))["eta"]
    board = await dispatch.client.get("/board", headers=dispatch.dispatcher)
    assert board.status_code == 200, board.text
    (entry,) = [r for r in board.json()["requests"] if r["request_id"] == str(request.request_id)]
    predicted = datetime.fromisoformat(entry["predicted_arrival"])
    risky = (await dispatch.client.get("/sla-at-risk", headers=dispatch.dispatcher)).json()
    if lunch_taken:
        assert predicted == eta and not entry["at_risk"] and not risky
    else:  # 13:45 + 30 min lunch, then the drive: past the 14:05 deadline
        expected = clock.now + timedelta(minutes=30) + drive(BESIDE_THE_SITE, SITE)
        assert abs((predicted - expected).total_seconds()) < 1 and entry["at_risk"]
        assert [r["request_id"] for r in risky] == [str(request.request_id)]
        assert risky[0]["reason"] == "the assigned technician is predicted late"


async def test_the_board_issues_the_same_statements_for_two_or_six_technicians(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    by_task: dict[int, list[str]] = {}

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        by_task.setdefault(id(asyncio.current_task()), []).append(statement)

    engine = dispatch.app.state.runtime.db.engine.sync_engine

    async def board_statements() -> list[str]:
        by_task.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            board = await dispatch.client.get("/board", headers=dispatch.dispatcher)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert board.status_code == 200, board.text
        assert len(board.json()["technicians"]) == fleet
        # the outbox relay shares the engine: count the statements of the task that served the board
        (served,) = [s for s in by_task.values() if any("FROM dispatch.technicians" in q for q in s)]
        return served

    fleet = 0
    counts = []
    for size in (2, 6):
        while fleet < size:
            tech = await dispatch.add_technician(f"Tech {fleet}", 44.95 + fleet * 0.01, 34.10, weekly_shifts=WEEK)
            booked = await assign(dispatch, await routine_job(dispatch, 60), tech, local(clock, 9))
            assert booked.status_code == 201, booked.text
            fleet += 1
        seen = await board_statements()
        assert not [s for s in seen if "FOR UPDATE" in s.upper()]  # a read takes no row locks
        counts.append(len(seen))
    assert counts[0] >= 5 and counts[0] == counts[1], counts


async def test_two_bookings_sent_at_once_cannot_squeeze_out_the_lunch_between_them(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Each booking alone leaves room for the lunch, both together do not: one of them must be refused, whichever
    reaches the database first (each request reads Anna's day and books in its own transaction)."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE, weekly_shifts=WEEK)
    midday, afternoon = await routine_job(dispatch, 130), await routine_job(dispatch, 90)
    for _ in range(3):  # the race may go either way: each round must end with exactly one of them booked
        answers = await asyncio.gather(
            assign(dispatch, midday, anna, local(clock, 11)),  # 11:00-13:10: 13:10-14:00 left for the lunch
            assign(dispatch, afternoon, anna, local(clock, 13, 30)),  # 13:30-15:00: 12:00-13:30 left
        )
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        (refused,) = [a for a in answers if a.status_code == 409]
        assert "leaves Anna no room for the 30 min break" in refused.json()["detail"]
        await dispatch.sql("DELETE FROM dispatch.assignment_history")
        await dispatch.sql("DELETE FROM dispatch.assignments")
        await dispatch.sql("UPDATE dispatch.jobs SET status = 'open'")


async def test_a_move_and_a_booking_sent_at_once_cannot_squeeze_out_the_lunch_either(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """The same race through POST /assignments/{id}/reassign: Oleg's morning job moved to Anna at 11:00-13:10 while
    Anna is booked 13:30-15:00; both technicians' days are held, so one of the two is refused."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE, weekly_shifts=WEEK)
    oleg = await dispatch.add_technician("Oleg Petrov", *BESIDE_THE_SITE, weekly_shifts=WEEK)
    midday = await assign(dispatch, await routine_job(dispatch, 130), oleg, local(clock, 9))
    assert midday.status_code == 201, midday.text
    afternoon = await routine_job(dispatch, 90)
    moved, booked = await asyncio.gather(
        dispatch.client.post(
            f"/assignments/{midday.json()['id']}/reassign",
            headers=dispatch.dispatcher,
            json={"technician_id": anna, "planned_start": local(clock, 11).isoformat()},
        ),
        assign(dispatch, afternoon, anna, local(clock, 13, 30)),
    )
    assert (moved.status_code, booked.status_code) in ((200, 409), (409, 201)), (moved.text, booked.text)
    refused = moved if moved.status_code == 409 else booked
    assert "leaves Anna no room for the 30 min break" in refused.json()["detail"]
