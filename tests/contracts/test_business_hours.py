"""SLA deadlines in business hours: pure domain code, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.contracts.domain.calendar import (
    add_business_minutes,
    calendar_problem,
    round_the_clock,
    weekly_calendar,
)
from services.contracts.domain.sla import SlaTerm, sla_deadlines

SIMFEROPOL = ZoneInfo("Europe/Simferopol")
BERLIN = ZoneInfo("Europe/Berlin")
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(zone: str = "Europe/Simferopol", holidays: frozenset[date] = frozenset()):  # type: ignore[no-untyped-def]
    return weekly_calendar(zone, {day: [(time(9), time(18))] for day in WORKDAYS}, holidays)


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def test_four_hours_asked_friday_at_five_are_due_monday_at_noon() -> None:
    friday_five = local(SIMFEROPOL, 2026, 11, 27, 17, 0)
    due = add_business_minutes(office(), friday_five, 240)
    assert due == local(SIMFEROPOL, 2026, 11, 30, 12, 0)
    assert due.tzinfo is UTC


def test_deadline_landing_on_closing_time_stays_that_day() -> None:
    assert add_business_minutes(office(), local(SIMFEROPOL, 2026, 11, 26, 14), 240) == local(
        SIMFEROPOL, 2026, 11, 26, 18
    )


def test_a_request_made_overnight_starts_counting_at_opening() -> None:
    tuesday_night = local(SIMFEROPOL, 2026, 11, 24, 23, 30)
    assert add_business_minutes(office(), tuesday_night, 120) == local(SIMFEROPOL, 2026, 11, 25, 11)


def test_overnight_opening_hours_run_past_midnight() -> None:
    nights = weekly_calendar(
        "Europe/Simferopol", {day: [(time(20), time(8))] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    # 06:00 inside Tuesday night's stretch: 2 h until 08:00, then 1 h from 20:00
    assert add_business_minutes(nights, local(SIMFEROPOL, 2026, 11, 25, 6), 180) == local(SIMFEROPOL, 2026, 11, 25, 21)


def test_weekend_is_skipped() -> None:
    saturday = local(SIMFEROPOL, 2026, 11, 28, 10)
    assert add_business_minutes(office(), saturday, 90) == local(SIMFEROPOL, 2026, 11, 30, 10, 30)


def test_holidays_stop_the_clock() -> None:
    calendar = office(holidays=frozenset({date(2026, 11, 30), date(2026, 12, 1)}))
    friday_five = local(SIMFEROPOL, 2026, 11, 27, 17)
    assert add_business_minutes(calendar, friday_five, 240) == local(SIMFEROPOL, 2026, 12, 2, 12)


def test_round_the_clock_is_elapsed_time_and_ignores_holidays() -> None:
    asked = local(SIMFEROPOL, 2026, 12, 31, 22)
    assert add_business_minutes(round_the_clock("Europe/Simferopol"), asked, 240) == local(SIMFEROPOL, 2027, 1, 1, 2)


def test_round_the_clock_across_spring_forward_counts_real_hours() -> None:
    saturday_noon = local(BERLIN, 2026, 3, 28, 12)  # clocks go 02:00 -> 03:00 on Sunday
    due = add_business_minutes(round_the_clock("Europe/Berlin"), saturday_noon, 24 * 60)
    assert due.astimezone(BERLIN) == local(BERLIN, 2026, 3, 29, 13)


def test_business_hours_across_spring_forward_keep_local_opening_times() -> None:
    friday_five = local(BERLIN, 2026, 3, 27, 17)  # CET; Monday is CEST
    due = add_business_minutes(office("Europe/Berlin"), friday_five, 240)
    assert due.astimezone(BERLIN) == local(BERLIN, 2026, 3, 30, 12)
    assert due == datetime(2026, 3, 30, 10, tzinfo=UTC)


def test_a_night_stretch_is_an_hour_shorter_when_clocks_go_forward_and_longer_when_back() -> None:
    every_night = weekly_calendar(
        "Europe/Berlin", {day: [(time(20), time(8))] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    spring_evening = local(BERLIN, 2026, 3, 28, 20)
    assert add_business_minutes(every_night, spring_evening, 11 * 60).astimezone(BERLIN) == local(
        BERLIN, 2026, 3, 29, 8
    )
    autumn_evening = local(BERLIN, 2026, 10, 24, 20)
    assert add_business_minutes(every_night, autumn_evening, 13 * 60).astimezone(BERLIN) == local(
        BERLIN, 2026, 10, 25, 8
    )


def test_sla_deadlines_count_response_and_fix_in_the_same_calendar() -> None:
    term = SlaTerm("P1", response_minutes=240, fix_minutes=600)
    deadlines = sla_deadlines(term, office(), local(SIMFEROPOL, 2026, 11, 27, 17))
    assert deadlines.response_due == local(SIMFEROPOL, 2026, 11, 30, 12)
    assert deadlines.fix_due == local(SIMFEROPOL, 2026, 11, 30, 18)


@pytest.mark.parametrize(
    ("hours", "zone", "reason"),
    [
        ({}, "Europe/Simferopol", "at least one opening"),
        ({"mon": [(time(9), time(13)), (time(12), time(18))]}, "Europe/Simferopol", "overlap"),
        ({"mon": [(time(9), time(18))]}, "Mars/Olympus", "unknown time zone"),
    ],
)
def test_unusable_calendars_are_named(hours: dict[str, list[tuple[time, time]]], zone: str, reason: str) -> None:
    problem = calendar_problem(weekly_calendar(zone, hours))
    assert problem is not None and reason in problem


def test_a_sound_calendar_has_no_problem() -> None:
    assert calendar_problem(office()) is None
    assert calendar_problem(round_the_clock("Europe/Simferopol")) is None


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_minutes(office(), datetime(2026, 11, 27, 17), 60)
