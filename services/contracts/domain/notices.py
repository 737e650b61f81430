"""When contract managers hear from the sweep: a contract's end coming near, more of its visits overdue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

DEFAULT_ENDING_NOTICE_DAYS = 30


def ending_soon_days_left(
    ends_on: date | None, today: date, notice_days: int, announced_for: date | None
) -> int | None:
    """Days left when this end date is due to be announced now; None if not (no end, too far, past, or told)."""
    if ends_on is None or announced_for == ends_on:
        return None
    days_left = (ends_on - today).days
    return days_left if 0 <= days_left <= notice_days else None


def overdue_is_news(overdue: int, announced: int) -> bool:
    """Only growth is announced; a count that fell is remembered lower, so the next growth is told again."""
    return overdue > announced


@dataclass(frozen=True)
class EndingContract:
    id: uuid.UUID
    customer_id: uuid.UUID
    ends_on: date
    timezone: str
    ending_announced_for: date | None


@dataclass(frozen=True)
class OverdueVisits:
    contract_id: uuid.UUID
    customer_id: uuid.UUID
    overdue: int
    oldest_due_on: date | None
    announced: int
