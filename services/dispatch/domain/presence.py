"""What the board says a technician is doing now: their own status, unless they are absent or off shift."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.domain.calendar import Absence

BUSY = frozenset({"en_route", "on_site"})  # a job in hand outranks the calendar: they are still out there


@dataclass(frozen=True)
class AbsentNow:
    kind: str  # sickness, leave, training
    until: datetime  # the end of this absence and of any that follows it without a gap


def absent_now(absences: Sequence[Absence], now: datetime) -> AbsentNow | None:
    """The absence running at `now`, lasting until the end of the chain of absences that follow on from it."""
    current = next((a for a in sorted(absences, key=lambda a: a.starts_at) if a.starts_at <= now < a.ends_at), None)
    if current is None:
        return None
    until = current.ends_at
    for a in sorted(absences, key=lambda a: a.starts_at):
        if a.starts_at <= until < a.ends_at:
            until = a.ends_at
    return AbsentNow(current.kind, until)


def board_status(reported: str, on_shift: bool, absence: AbsentNow | None) -> str:
    """`absent` or `off_shift` rather than what the app last reported (`available`), unless on a job."""
    if reported in BUSY:
        return reported
    if absence is not None:
        return "absent"
    if not on_shift:
        return "off_shift"
    return reported
