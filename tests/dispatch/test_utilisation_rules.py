"""The day-of-work figures without infrastructure: local midnights, visits still going, the break's turn."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.dispatch.domain.utilisation import (
    Ping,
    ShiftWorked,
    VisitSteps,
    days_of_work,
    path_km,
    shift_hours,
    total,
)

TZ = ZoneInfo("Europe/Simferopol")
ANNA = uuid.uuid4()
MONDAY, TUESDAY = date(2030, 3, 4), date(2030, 3, 5)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def test_a_visit_across_midnight_counts_in_both_days_and_one_still_going_up_to_now() -> None:
    night = VisitSteps(ANNA, at(MONDAY, 23), at(MONDAY, 23, 30), at(TUESDAY, 1))
    going = VisitSteps(ANNA, None, at(TUESDAY, 9), None)
    rows = days_of_work([MONDAY, TUESDAY], TZ, at(TUESDAY, 10), [], [night, going], [])
    assert [(r.day, r.on_site_hours, r.driving_hours) for r in rows] == [(MONDAY, 0.5, 0.5), (TUESDAY, 2.0, 0.0)]
    assert rows[0].utilisation is None  # no shift: nothing to divide by


def test_the_break_is_taken_off_once_its_window_has_passed() -> None:
    shift = ShiftWorked(ANNA, at(MONDAY, 8), at(MONDAY, 17), 30, at(MONDAY, 12), at(MONDAY, 14))
    assert shift_hours(shift, (at(MONDAY, 0), at(MONDAY, 13))) == 5.0  # lunch may still come
    assert shift_hours(shift, (at(MONDAY, 0), at(MONDAY, 15))) == 6.5
    [row] = days_of_work([MONDAY, TUESDAY], TZ, at(MONDAY, 18), [shift], [], [])  # Tuesday is still to come
    assert (row.day, row.shift_hours, row.on_site_hours, row.utilisation) == (MONDAY, 8.5, 0.0, 0.0)


def test_kilometres_follow_the_fixes_in_time_order_within_each_local_day() -> None:
    pings = [
        Ping(ANNA, at(MONDAY, 10), 44.96, 34.1),
        Ping(ANNA, at(MONDAY, 9), 44.95, 34.1),  # sent late, fixed earlier
        Ping(ANNA, at(MONDAY, 11), 44.95, 34.1),
        Ping(ANNA, at(TUESDAY, 0, 5), 45.0, 34.1),  # 21:05 UTC on Monday: Tuesday here
    ]
    rows = days_of_work([MONDAY, TUESDAY], TZ, at(TUESDAY, 12), [], [], pings)
    there_and_back = round(2 * path_km([(44.95, 34.1), (44.96, 34.1)]), 2)
    assert [(r.day, r.travel_km) for r in rows] == [(MONDAY, there_and_back)]
    assert total(rows).travel_km == there_and_back and 2.2 < there_and_back < 2.3
