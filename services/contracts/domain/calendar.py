"""Business hours: the contract's clock that SLA deadlines count in (24/7, or a weekly calendar with holidays)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# {"mon": [(start, end), ...], ...}: weekly opening hours in local wall time
WeeklyHours = dict[str, list[tuple[time, time]]]
# how far ahead a deadline may fall before the calendar is judged empty
_SEARCH_DAYS = 3 * 366


@dataclass(frozen=True)
class OpeningHours:
    """One stretch of a weekday, in local wall time; an end at or before the start runs past midnight."""

    start: time
    end: time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class BusinessCalendar:
    """`weekly` is indexed by `date.weekday()` (0 = Monday); None means round the clock."""

    timezone: str
    weekly: tuple[tuple[OpeningHours, ...], ...] | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def round_the_clock(self) -> bool:
        return self.weekly is None

    def hours_on(self, day: date) -> tuple[OpeningHours, ...]:
        if self.weekly is None or day in self.holidays:
            return ()
        return self.weekly[day.weekday()]


def round_the_clock(timezone: str = "UTC") -> BusinessCalendar:
    return BusinessCalendar(timezone=timezone)


def weekly_calendar(
    timezone: str, hours: dict[str, list[tuple[time, time]]], holidays: frozenset[date] = frozenset()
) -> BusinessCalendar:
    """A calendar from `{"mon": [(09:00, 18:00)], ...}`; weekdays left out are closed."""
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise ValueError(f"unknown weekday(s): {', '.join(sorted(unknown))}")
    weekly = tuple(tuple(OpeningHours(s, e) for s, e in sorted(hours.get(day, []))) for day in WEEKDAYS)
    return BusinessCalendar(timezone=timezone, weekly=weekly, holidays=holidays)


def calendar_problem(calendar: BusinessCalendar) -> str | None:
    """Why a calendar cannot count SLA time, or None when it can."""
    try:
        ZoneInfo(calendar.timezone)
    except (KeyError, ValueError):
        return f"unknown time zone {calendar.timezone!r}"
    if calendar.weekly is None:
        return None
    if not any(calendar.weekly):
        return "a weekly calendar needs at least one opening"
    for day, stretches in zip(WEEKDAYS, calendar.weekly, strict=True):
        if any(s.start == s.end for s in stretches):
            continue  # a full 24 h stretch from `start` to the same time next day
        ordered = sorted(stretches, key=lambda s: s.start)
        for earlier, later in itertools.pairwise(ordered):
            if earlier.overnight or later.start < earlier.end:
                return f"opening hours on {day} overlap"
    return None


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Local wall time on `day` as a UTC instant (a time skipped by a DST jump maps just past the jump)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def open_stretches(calendar: BusinessCalendar, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open stretches as UTC instants in time order, from the local day before `since` on."""
    zone = ZoneInfo(calendar.timezone)
    first_day = since.astimezone(zone).date() - timedelta(days=1)  # an overnight stretch may still be running
    for offset in range(_SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        for stretch in calendar.hours_on(day):
            end_day = day + timedelta(days=1) if stretch.overnight else day
            yield _instant(day, stretch.start, zone), _instant(end_day, stretch.end, zone)


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """The instant `minutes` of business time after `start` (an aware datetime); UTC.

    Time is real elapsed time: a night on which clocks go forward is an hour shorter.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    if calendar.round_the_clock:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    cursor = start
    for opens, closes in open_stretches(calendar, start):
        opens = max(opens, cursor)
        if closes <= opens:
            continue
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
        cursor = closes
    raise ValueError("the calendar has no business hours in the next three years")


def hours_to_json(hours: WeeklyHours | None) -> dict[str, list[list[str]]] | None:
    if hours is None:
        return None
    return {
        day: [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in hours[day]] for day in WEEKDAYS if hours.get(day)
    }


def hours_from_json(raw: dict[str, list[list[str]]] | None) -> WeeklyHours | None:
    if raw is None:
        return None
    return {
        day: [(time.fromisoformat(s), time.fromisoformat(e)) for s, e in stretches] for day, stretches in raw.items()
    }
