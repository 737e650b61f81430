"""The shift calendar: a weekly pattern in local time, minus absences, made concrete per day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ABSENCE_WORDS = {"sickness": "is off sick", "leave": "is on leave", "training": "is in training"}


@dataclass(frozen=True)
class WeeklyShift:
    """One weekday's shift in local time; an optional floating break of `break_minutes`."""

    start: time
    end: time
    break_minutes: int = 0
    break_earliest: time | None = None
    break_latest: time | None = None


@dataclass(frozen=True)
class Absence:
    starts_at: datetime
    ends_at: datetime
    kind: str


@dataclass(frozen=True)
class ShiftSpan:
    day: date
    starts_at: datetime
    ends_at: datetime
    break_minutes: int = 0
    break_earliest: datetime | None = None
    break_latest: datetime | None = None


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tz)


def cut_out(spans: Sequence[tuple[datetime, datetime]], absences: Sequence[Absence]) -> list[tuple[datetime, datetime]]:
    """What is left of `spans` once every absence is cut out of them, in order (a span may fall into pieces)."""
    pieces = list(spans)
    for absence in absences:
        cut: list[tuple[datetime, datetime]] = []
        for a, b in pieces:
            if absence.ends_at <= a or absence.starts_at >= b:
                cut.append((a, b))
                continue
            if absence.starts_at > a:
                cut.append((a, absence.starts_at))
            if absence.ends_at < b:
                cut.append((absence.ends_at, b))
        pieces = cut
    return pieces


def shift_on(
    day: date, pattern: Mapping[str, WeeklyShift] | None, absences: Sequence[Absence], tz: ZoneInfo
) -> ShiftSpan | None:
    """The shift of `day`, or None when off. No pattern at all means always on duty (the whole day): the roster
    passes the company's working hours for a technician without shifts unless they are set to round the clock.

    An absence cuts the shift; what is left is the longest piece (sick from 11:00 leaves the morning).
    """
    midnight = local_midnight(day, tz)
    if pattern is None:
        start, end = midnight, local_midnight(day + timedelta(days=1), tz)
        weekly = None
    else:
        weekly = pattern.get(WEEKDAYS[day.weekday()])
        if weekly is None:
            return None
        start = datetime.combine(day, weekly.start, tz)
        end = datetime.combine(day + timedelta(days=1) if weekly.end <= weekly.start else day, weekly.end, tz)
    pieces = cut_out([(start, end)], absences)
    if not pieces:
        return None
    a, b = max(pieces, key=lambda p: p[1] - p[0])
    if b - a < timedelta(minutes=30):
        return None
    if weekly is None or not weekly.break_minutes:
        return ShiftSpan(day, a, b)
    earliest = datetime.combine(day, weekly.break_earliest or weekly.start, tz)
    latest = datetime.combine(day, weekly.break_latest or weekly.start, tz)
    if weekly.break_latest is None:
        latest = b - timedelta(minutes=weekly.break_minutes)
    earliest, latest = max(earliest, a), min(latest, b - timedelta(minutes=weekly.break_minutes))
    if latest < earliest:
        return ShiftSpan(day, a, b)  # the break window fell into the absence: no break to place
    return ShiftSpan(day, a, b, weekly.break_minutes, earliest, latest)


def absence_reason(first_name: str, kind: str) -> str:
    """'Anna is off sick'."""
    return f"{first_name} {ABSENCE_WORDS.get(kind, 'is off shift')}"


@dataclass(frozen=True)
class Availability:
    """When a technician can work from now on: regular time up to `end`, overtime up to `overtime_end`.

    Always start <= end <= overtime_end; a break, if any, fits: start <= break_earliest <= break_latest.
    """

    start: datetime
    end: datetime
    overtime_end: datetime
    break_minutes: int = 0
    break_earliest: datetime | None = None
    break_latest: datetime | None = None


def availability(
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    overtime: timedelta,
    absences: Sequence[Absence] = (),
    *,
    break_minutes: int = 0,
    break_earliest: datetime | None = None,
    break_latest: datetime | None = None,
    shortest: timedelta = timedelta(minutes=1),
) -> Availability | None:
    """A shift's time still to work at `now`, overtime allowance included, never running into an absence;
    None when nothing of at least `shortest` is left. The first free piece from now is the one to plan."""
    if ends_at < starts_at:
        return None
    start, hard_end = max(starts_at, now), ends_at + max(overtime, timedelta(0))
    spans = [(start, hard_end)] if start < hard_end else []
    # an empty (or inverted) absence leaves the time whole here
    pieces = cut_out(spans, [absence for absence in absences if absence.starts_at < absence.ends_at])
    pieces = [p for p in pieces if p[1] - p[0] >= shortest]
    if not pieces:
        return None
    a, b = min(pieces)
    end = min(max(ends_at, a), b)  # past the regular end all that is left is overtime
    if break_minutes > 0 and break_latest is not None:
        earliest = max(a, break_earliest or a)
        latest = min(break_latest, b - timedelta(minutes=break_minutes))
        if earliest <= latest:
            return Availability(a, end, b, break_minutes, earliest, latest)
    return Availability(a, end, b)
