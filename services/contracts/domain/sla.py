"""SLA terms and their deadlines, counted in the contract's business hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.contracts.domain.calendar import BusinessCalendar, add_business_minutes

DEFAULT_ROUTINE_PRIORITY = "P3"
# how much a unit's breakdown hurts the customer; an emergency on a critical or high unit is P1, else P2
CRITICALITIES = ("critical", "high", "normal", "low")
DEFAULT_CRITICALITY = "normal"
_P1_CRITICALITIES = frozenset({"critical", "high"})


@dataclass(frozen=True)
class SlaTerm:
    priority: str
    response_minutes: int
    fix_minutes: int
    required_skills: tuple[tuple[str, int], ...] = ()
    # money, in the contract's currency (None: dispatch's planner defaults): what each hour the arrival is late
    # costs, and what a visit of this priority is worth (dispatch's planner pays that to leave it out)
    late_penalty_per_hour: Decimal | None = None
    visit_value: Decimal | None = None


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


def default_priority(kind: str, unit_criticality: str | None) -> str:
    """The priority of a request that names none: an emergency's by the unit's criticality.

    An emergency at a site with no unit named is P1: nothing says the breakdown is minor, so we
    assume the worst rather than promise a slower response than the contract may owe.
    """
    if kind != "emergency":
        return DEFAULT_ROUTINE_PRIORITY
    if unit_criticality is None or unit_criticality in _P1_CRITICALITIES:
        return "P1"
    return "P2"


def merged_skills(*needs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """Every skill any of `needs` asks for, at the highest level asked."""
    levels: dict[str, int] = {}
    for need in needs:
        for skill, level in need:
            levels[skill] = max(level, levels.get(skill, 0))
    return tuple(sorted(levels.items()))


def money_terms(term: SlaTerm | None) -> dict[str, float | None]:
    """A term's money as the events carry it to dispatch (``late_penalty_per_hour``, ``visit_value``)."""
    if term is None:
        return {"late_penalty_per_hour": None, "visit_value": None}
    return {
        "late_penalty_per_hour": None if term.late_penalty_per_hour is None else float(term.late_penalty_per_hour),
        "visit_value": None if term.visit_value is None else float(term.visit_value),
    }
