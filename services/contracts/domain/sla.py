"""SLA terms and their deadlines, counted in the contract's business hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.contracts.domain.calendar import BusinessCalendar, add_business_minutes

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


def sla_deadlines(term: SlaTerm, calendar: BusinessCalendar, asked_at: datetime) -> SlaDeadlines:
    """When the technician must arrive and when the fix must be done, for a request made at `asked_at`."""
    return SlaDeadlines(
        response_due=add_business_minutes(calendar, asked_at, term.response_minutes),
        fix_due=add_business_minutes(calendar, asked_at, term.fix_minutes),
    )


def default_priority(kind: str) -> str:
    return DEFAULT_EMERGENCY_PRIORITY if kind == "emergency" else DEFAULT_ROUTINE_PRIORITY


def merged_skills(*needs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """Every skill any of `needs` asks for, at the highest level asked."""
    levels: dict[str, int] = {}
    for need in needs:
        for skill, level in need:
            levels[skill] = max(level, levels.get(skill, 0))
    return tuple(sorted(levels.items()))
