"""The floating break as pure rules: room left for it, and what it does to a predicted arrival."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.dispatch.domain.breaks import (
    BreakWindow,
    break_before_stop,
    break_left,
    break_still_due,
    departure_after_break,
    room_for_break,
    shift_break,
    squeezes_out_break,
)
from services.dispatch.domain.sla import predicted_arrival


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2030, 3, 4, hh, mm, tzinfo=UTC)


LUNCH = BreakWindow(30, at(12), at(14))  # 30 min, to start between 12:00 and 14:00


def test_the_break_goes_in_the_first_gap_long_enough() -> None:
    assert room_for_break(LUNCH, []) == at(12)
    assert room_for_break(LUNCH, [(at(11), at(12, 10))]) == at(12, 10)
    # a 20 min gap is too short, the 30 min one after the next booking is not
    assert room_for_break(LUNCH, [(at(11), at(12, 10)), (at(12, 30), at(13)), (at(13, 30), at(16))]) == at(13)
    assert room_for_break(LUNCH, [(at(13, 30), at(16)), (at(11), at(12, 10)), (at(12, 30), at(13))]) == at(13)
    assert room_for_break(LUNCH, [(at(12), at(14))]) == at(14)  # starts at the latest start
    assert room_for_break(LUNCH, [(at(12), at(14, 1))]) is None
    assert room_for_break(LUNCH, [(at(11), at(12, 20)), (at(12, 45), at(15))]) is None


def test_a_booking_is_blamed_only_for_taking_the_last_room() -> None:
    assert squeezes_out_break(LUNCH, [(at(11), at(13))], (at(13, 15), at(15)))
    assert not squeezes_out_break(LUNCH, [(at(11), at(13))], (at(13, 30), at(15)))
    assert not squeezes_out_break(LUNCH, [], (at(8), at(11)))  # outside the window
    # already no room (a plan or an emergency did it): this booking does not make it worse
    assert not squeezes_out_break(LUNCH, [(at(11), at(15))], (at(15), at(16)))


def test_a_break_taken_or_past_its_latest_start_is_no_longer_due() -> None:
    assert break_still_due(LUNCH, at(9), None) == LUNCH
    assert break_still_due(LUNCH, at(12, 40), None) == BreakWindow(30, at(12, 40), at(14))
    assert break_still_due(LUNCH, at(12, 40), at(12, 30)) is None  # taken
    assert break_still_due(LUNCH, at(14, 1), None) is None
    assert break_still_due(None, at(9), None) is None
    assert shift_break(30, at(12), at(14)) == LUNCH
    assert shift_break(0, at(12), at(14)) is None and shift_break(30, None, at(14)) is None


def test_a_break_counts_as_taken_by_either_record_but_only_within_this_shift() -> None:
    shift_start = at(8)
    assert break_left(LUNCH, shift_start, (None, None), at(9)) == LUNCH
    assert break_left(LUNCH, shift_start, (at(12, 30), None), at(12, 10)) is None  # on it now
    assert break_left(LUNCH, shift_start, (None, at(10, 45)), at(11)) is None  # over, in the command log only
    assert break_left(LUNCH, shift_start, (None, at(7, 30)), at(9)) == LUNCH  # yesterday's night shift's
    assert break_left(LUNCH, shift_start, (None, None), at(14, 5)) is None  # its latest start has passed


def test_the_break_is_taken_on_the_way_to_the_first_stop_ending_after_its_latest_start() -> None:
    stops = [(at(9), at(10)), (at(13, 30), at(15)), (at(11), at(12, 30)), (at(15, 30), at(16))]
    assert break_before_stop(LUNCH, stops, (at(13, 30), at(15))) == LUNCH
    assert break_before_stop(LUNCH, stops, (at(11), at(12, 30))) is None
    assert break_before_stop(LUNCH, stops, (at(15, 30), at(16))) is None
    assert break_before_stop(None, stops, (at(13, 30), at(15))) is None


def test_a_break_on_the_way_delays_the_departure_only_when_there_is_no_slack() -> None:
    assert departure_after_break(at(12, 30), LUNCH) == at(13)
    assert departure_after_break(at(10), LUNCH) == at(12, 30)  # waits for the break window, then goes
    assert departure_after_break(at(10), None) == at(10)


def test_the_predicted_arrival_counts_a_break_still_to_take() -> None:
    eta, now, drive = at(13, 10), at(11), timedelta(minutes=20)
    without = predicted_arrival("accepted", eta, now, drive, busy_until=at(12, 50))
    assert without == at(13, 10)
    with_break = predicted_arrival("accepted", eta, now, drive, busy_until=at(12, 50), break_first=LUNCH)
    assert with_break == at(13, 40)  # free 12:50, break to 13:20, 20 min drive
    slack = predicted_arrival("accepted", at(14), now, drive, busy_until=at(12), break_first=LUNCH)
    assert slack == at(14)  # the break fits before the drive: the ETA holds
