"""Utilisation and travel of the technicians' days, from dispatch's own records (domain/utilisation.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.technicians import TechnicianRepository
from services.dispatch.db.work_records import WorkRecordRepository
from services.dispatch.domain.calendar import local_midnight
from services.dispatch.domain.utilisation import DayOfWork, days_of_work, total
from shared.errors import InvalidInput

LONGEST_REPORT_DAYS = 92  # a quarter: the report reads every ping of the range
FURTHEST_DAYS = 3660  # ten years either way: the records are not older, and no date arithmetic overflows


@dataclass(frozen=True)
class WorkReport:
    first: date
    last: date
    timezone: str
    as_of: datetime
    days: list[DayOfWork]  # per day and technician
    names: dict[str, str]  # technician id -> name
    total: DayOfWork


class Utilisation:
    def __init__(self, timezone: str, clock: Callable[[], datetime]) -> None:
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.clock = clock

    async def report(self, session: AsyncSession, first: date | None, last: date | None) -> WorkReport:
        """The local days `first` to `last` (both included; default: today), up to now."""
        now = self.clock()
        today = now.astimezone(self.tz).date()
        first, last = first or last or today, last or first or today
        for field, day in (("from", first), ("to", last)):
            if abs((day - today).days) > FURTHEST_DAYS:
                raise InvalidInput(field, f"must be within {FURTHEST_DAYS} days of today")
        if last < first:
            raise InvalidInput("to", "must not be before `from`")
        if (last - first).days >= LONGEST_REPORT_DAYS:
            raise InvalidInput("to", f"at most {LONGEST_REPORT_DAYS} days from `from`")
        start, end = local_midnight(first, self.tz), min(local_midnight(last + timedelta(days=1), self.tz), now)
        records = WorkRecordRepository(session)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        rows = days_of_work(
            days,
            self.tz,
            now,
            await records.shifts_worked(first, last),
            await records.visit_steps(start, end),
            await records.pings(start, end),
        )
        seen = sorted({r.technician_id for r in rows if r.technician_id is not None})
        names = {str(tech.id): tech.name for tech in await TechnicianRepository(session).list_technicians(seen)}
        return WorkReport(first, last, self.timezone, now, rows, names, total(rows))
