"""The records of how the days went, for utilisation and travel (domain/utilisation.py): the shifts of a range of
days, each booking's first steps, the position pings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository, latitude, longitude
from services.dispatch.domain.utilisation import Ping, ShiftWorked, VisitSteps
from shared.db import records

# a visit counted in [start, end) has a step in it, or one this long before it (on site across midnight)
LONGEST_VISIT = timedelta(days=1)
ENDINGS = ("completed", "failed", "cancelled")


class WorkRecordRepository(SessionRepository):
    async def shifts_worked(self, first: date, last: date) -> list[ShiftWorked]:
        """The shifts of the local days `first` to `last` (absences already cut them: roster.py)."""
        s = t.shifts.c
        rows = await self.session.execute(
            select(s.technician_id, s.starts_at, s.ends_at, s.break_minutes, s.break_earliest, s.break_latest).where(
                s.day >= first, s.day <= last
            )
        )
        return records(ShiftWorked, rows)

    async def visit_steps(self, start: datetime, end: datetime) -> list[VisitSteps]:
        """Per booking with a step in [start - LONGEST_VISIT, end): its first en-route, on-site and ending steps."""
        h, a = t.assignment_history.c, t.assignments.c
        rows = await self.session.execute(
            select(
                a.technician_id,
                func.min(h.at).filter(h.status == "en_route").label("en_route_at"),
                func.min(h.at).filter(h.status == "on_site").label("on_site_at"),
                func.min(h.at).filter(h.status.in_(ENDINGS)).label("ended_at"),
            )
            .join(t.assignments, a.id == h.assignment_id)
            .where(h.at >= start - LONGEST_VISIT, h.at < end)
            .group_by(a.id, a.technician_id)
        )
        return records(VisitSteps, rows)

    async def pings(self, start: datetime, end: datetime) -> list[Ping]:
        p = t.position_pings.c
        rows = await self.session.execute(
            select(p.technician_id, p.at, latitude(p.position, "lat"), longitude(p.position, "lon"))
            .where(p.at >= start, p.at < end)
            .order_by(p.technician_id, p.at)
        )
        return records(Ping, rows)
