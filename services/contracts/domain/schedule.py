"""Visit schedules: an RFC 5545 RRULE (python-dateutil) per unit or site, turned into planned visits."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

# planning works in days: anything more frequent than daily is not a maintenance schedule
_ALLOWED_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_MAX_OCCURRENCES = 2000


@dataclass(frozen=True)
class VisitRule:
    """When visits fall: the rule counts from `first_on` at `visit_time`, local to `timezone`."""

    rrule: str
    first_on: date
    visit_time: time
    timezone: str
    tolerance_days: int = 0


def rrule_problem(text: str) -> str | None:
    """Why `text` is not a usable recurrence rule, or None."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or ":" in body:
        return "give one RRULE (e.g. FREQ=MONTHLY;BYMONTHDAY=-1), without DTSTART or other properties"
    frequency = re.search(r"(?:^|;)FREQ=([A-Z]+)", body.upper())
    if frequency is None:
        return "FREQ is required"
    if frequency.group(1) not in _ALLOWED_FREQUENCIES:
        return f"FREQ must be one of {', '.join(sorted(_ALLOWED_FREQUENCIES))}"
    try:
        parsed = rrulestr(body, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        return f"not a valid RRULE: {exc}"
    if not isinstance(parsed, rrule):
        return "give a single RRULE"
    return None


def _parsed(rule: VisitRule) -> rrule:
    body = rule.rrule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parsed = rrulestr(body, dtstart=datetime.combine(rule.first_on, rule.visit_time))
    assert isinstance(parsed, rrule)
    return parsed


def occurrences(rule: VisitRule, since: datetime, until: datetime) -> list[datetime]:
    """The rule's occurrences in [since, until] as UTC instants; local wall time is kept across DST changes."""
    zone = ZoneInfo(rule.timezone)
    local_since = since.astimezone(zone).replace(tzinfo=None)
    local_until = until.astimezone(zone).replace(tzinfo=None)
    found: list[datetime] = []
    for local in _parsed(rule).xafter(local_since, count=_MAX_OCCURRENCES, inc=True):
        if local > local_until:
            break
        found.append(local.replace(tzinfo=zone).astimezone(UTC))
    return found


def next_occurrences(rule: VisitRule, since: datetime, count: int) -> list[datetime]:
    """The rule's first `count` occurrences at or after `since`, as UTC instants (a schedule's preview)."""
    zone = ZoneInfo(rule.timezone)
    local_since = since.astimezone(zone).replace(tzinfo=None)
    found: list[datetime] = []
    for local in _parsed(rule).xafter(local_since, count=count, inc=True):
        found.append(local.replace(tzinfo=zone).astimezone(UTC))
    return found


@dataclass(frozen=True)
class VisitWindow:
    due_on: date
    due_at: datetime
    window_start: datetime
    window_end: datetime


def visit_window(
    occurrence: datetime, timezone: str, tolerance_days: int, period: tuple[date, date | None]
) -> VisitWindow:
    """The due day ± tolerance as whole local days, kept inside the contract period."""
    zone = ZoneInfo(timezone)
    due_on = occurrence.astimezone(zone).date()
    first = due_on - timedelta(days=tolerance_days)
    last = due_on + timedelta(days=tolerance_days)
    starts_on, ends_on = period
    first = max(first, starts_on)
    if ends_on is not None:
        last = min(last, ends_on)
    return VisitWindow(
        due_on=due_on,
        due_at=occurrence,
        window_start=datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC),
        window_end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC),
    )


@dataclass(frozen=True)
class ScheduleFacts:
    """A schedule with what its visits need: where, which units, how long, which skills."""

    schedule_id: uuid.UUID
    site_id: uuid.UUID
    equipment_ids: tuple[uuid.UUID, ...]
    rule: VisitRule
    duration_minutes: int
    skills: tuple[tuple[str, int], ...]
    priority: str


@dataclass(frozen=True)
class VisitSpec:
    """What one planned visit should look like; (schedule_id, occurrence_at) is its identity."""

    schedule_id: uuid.UUID
    occurrence_at: datetime
    site_id: uuid.UUID
    equipment_ids: tuple[uuid.UUID, ...]
    window: VisitWindow
    duration_minutes: int
    skills: tuple[tuple[str, int], ...]
    priority: str

    @property
    def key(self) -> tuple[uuid.UUID, datetime]:
        return self.schedule_id, self.occurrence_at


def generation_range(
    now: datetime, horizon_days: int, timezone: str, period: tuple[date, date | None]
) -> tuple[datetime, datetime] | None:
    """The instants to generate visits for: from now for `horizon_days`, inside the contract period."""
    zone = ZoneInfo(timezone)
    starts_on, ends_on = period
    since = max(now, datetime.combine(starts_on, time(0), tzinfo=zone).astimezone(UTC))
    until = now + timedelta(days=horizon_days)
    if ends_on is not None:
        until = min(
            until,
            datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
            - timedelta(microseconds=1),
        )
    return (since, until) if since <= until else None


def desired_visits(
    schedules: list[ScheduleFacts], since: datetime, until: datetime, period: tuple[date, date | None]
) -> list[VisitSpec]:
    """Every visit the schedules call for in [since, until]."""
    wanted: list[VisitSpec] = []
    for schedule in schedules:
        rule = schedule.rule
        for occurrence in occurrences(rule, since, until):
            wanted.append(
                VisitSpec(
                    schedule_id=schedule.schedule_id,
                    occurrence_at=occurrence,
                    site_id=schedule.site_id,
                    equipment_ids=schedule.equipment_ids,
                    window=visit_window(occurrence, rule.timezone, rule.tolerance_days, period),
                    duration_minutes=schedule.duration_minutes,
                    skills=schedule.skills,
                    priority=schedule.priority,
                )
            )
    return wanted
