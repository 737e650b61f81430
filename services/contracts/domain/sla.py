"""SLA deadlines. Round-the-clock contracts only here; business-hour calendars come with the contracts issue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_EMERGENCY_PRIORITY = "P1"
DEFAULT_ROUTINE_PRIORITY = "P3"


@dataclass(frozen=True)
class SlaTerm:
    priority: str
    response_minutes: int
    fix_minutes: int
    required_skills: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class SlaDeadlines:
    response_due: datetime
    fix_due: datetime


def deadlines_24x7(term: SlaTerm, asked_at: datetime) -> SlaDeadlines:
    return SlaDeadlines(
        response_due=asked_at + timedelta(minutes=term.response_minutes),
        fix_due=asked_at + timedelta(minutes=term.fix_minutes),
    )


def default_priority(kind: str) -> str:
    return DEFAULT_EMERGENCY_PRIORITY if kind == "emergency" else DEFAULT_ROUTINE_PRIORITY
