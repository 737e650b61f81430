"""What the schedule board draws behind the bookings: each technician's shift and overtime allowance, the break
still due (its window) or the one taken; and the work phone the job detail shows. Real PostGIS and NATS, the clock
injected."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from .conftest import Clock, Dispatch
from .test_break_room import BESIDE_THE_SITE, WEEK, local


async def _row(dispatch: Dispatch, technician_id: str) -> dict[str, Any]:
    board = (await dispatch.client.get("/board", headers=dispatch.dispatcher)).json()
    return next(t for t in board["technicians"] if t["id"] == technician_id)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_the_board_shows_the_shift_its_overtime_and_the_break_due_then_taken(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician(
        "Anna Koval", *BESIDE_THE_SITE, weekly_shifts=WEEK, overtime_minutes=90, phone="+7 978 111-22-33"
    )
    oleg = await dispatch.add_technician("Oleg Petrov", *BESIDE_THE_SITE)  # no shifts here: on duty round the clock

    row = await _row(dispatch, anna)
    assert row["phone"] == "+7 978 111-22-33"  # the job detail's number to call
    shift = row["shift"]
    assert _at(shift["starts_at"]) == local(clock, 8) and _at(shift["ends_at"]) == local(clock, 17)
    assert _at(shift["overtime_until"]) == local(clock, 18, 30)
    due = row["break_due"]
    assert due["minutes"] == 30 and _at(due["earliest"]) == local(clock, 12) and _at(due["latest"]) == local(clock, 14)
    assert row["break_taken"] is None
    always = await _row(dispatch, oleg)
    assert _at(always["shift"]["starts_at"]) == local(clock, 0) and always["break_due"] is None

    clock.now = local(clock, 12, 10)
    for on_break in (True, False):
        taken = await dispatch.client.post(
            "/me/break",
            headers=dispatch.technician(anna),
            json={"client_command_id": str(uuid.uuid4()), "on_break": on_break, "minutes": 30},
        )
        assert taken.status_code == 200, taken.text
    clock.now += timedelta(minutes=40)
    row = await _row(dispatch, anna)
    assert row["break_due"] is None
    assert _at(row["break_taken"]["end"]) == local(clock, 12, 40)
    assert _at(row["break_taken"]["start"]) == local(clock, 12, 10)
