"""Planned visits from contracts' events, kept idempotently (request_id = visit_id); their days get re-planned."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.common import point_wkt
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.windows import Window, visit_windows, windows_json
from services.dispatch.settings import Settings
from services.dispatch.usecases.booking import cancel_assignment
from shared.clock import SystemClock
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.events.envelope import Envelope, Event

log = logging.getLogger(__name__)
NO_ACCESS = "the site's access hours leave no time in the visit's window"


class PlannedVisits:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = SystemClock()) -> None:
        self.settings = settings
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)

    def days_within_horizon(self, start: datetime, end: datetime) -> list[date]:
        today = self.clock().astimezone(self.tz).date()
        first = max(today, start.astimezone(self.tz).date())
        last = min(today + timedelta(days=self.settings.plan_horizon_days), end.astimezone(self.tz).date())
        return [first + timedelta(days=k) for k in range((last - first).days + 1)]

    def first_day(self, start: datetime, end: datetime, windows: tuple[Window, ...] | None) -> list[date]:
        """The first day of the horizon the visit can still be served on (none: no window left in it).

        Only that day's re-plan is queued: as soon as it can be done, as a dispatcher would book maintenance. Queuing
        every day of its window let whichever day was planned first take it: a contract's visits arriving together
        (its activation) went to the days after the one they were planned on, one by one, while that day had room.
        If that day is full the visit stays unbooked until the scheduled planning, which plans the horizon jointly
        (usecases/horizon.py) and puts it on a day with room."""
        now = self.clock()
        days = self.days_within_horizon(start, end)
        if windows is None:
            return days[:1]
        for window in sorted(windows, key=lambda w: w.start):
            if window.end > now and (day := max(window.start, now).astimezone(self.tz).date()) in days:
                return [day]
        return []

    async def on_visit_planned(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, VisitPlanned)  # VisitRescheduled is one too
        repo = DispatchRepository(session)
        try:
            tz = ZoneInfo(event.timezone) if event.timezone else self.tz
            windows = visit_windows(event.window_start, event.window_end, event.access_hours, tz)
        except (KeyError, ValueError) as exc:  # an unknown zone, unreadable hours: the due window alone, and said so
            log.warning("visit %s: access hours ignored (%s)", event.visit_id, exc)
            windows = None
        changed = await repo.upsert_visit(
            {
                "request_id": event.visit_id,
                "customer_id": event.customer_id,
                "site_id": event.site_id,
                "kind": "planned",
                "priority": event.priority,
                "location": point_wkt(event.location.lat, event.location.lon),
                "required_skills": [s.model_dump() for s in event.skills],
                "duration_minutes": event.duration_minutes,
                "status": "open",
                "window_start": event.window_start,
                "window_end": event.window_end,
                "windows": windows_json(windows),
                "contract_id": event.contract_id,
                "equipment_ids": [str(e) for e in event.equipment_ids],
                "address": event.address,
                "description": event.carried_work or "",
                "contact_name": event.site_contact_name or "",
                "contact_phone": event.site_contact_phone or "",
                "late_penalty_per_hour": event.late_penalty_per_hour,
                "visit_value": event.visit_value,
                "territory_id": event.territory_id,
                "source_version": envelope.occurred_at,
                # the dispatcher's board says why nobody will be booked for it
                "unplaceable_reason": NO_ACCESS if windows == () else None,
            }
        )
        if not changed:
            return  # an older description than the one applied
        kind = "rescheduled" if isinstance(event, VisitRescheduled) else "planned"
        days = set(self.first_day(event.window_start, event.window_end, windows))
        for row in await repo.active_assignments_for_request(event.visit_id):
            days.add(row.planned_start.astimezone(self.tz).date())
        for day in sorted(days):
            await repo.request_replan(day, f"visit {kind}")

    async def on_visit_cancelled(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, VisitCancelled)
        repo = DispatchRepository(session)
        if await repo.get_job(event.visit_id) is None:
            return
        await repo.set_job_status(event.visit_id, "cancelled", event.reason)
        for row in await repo.active_assignments_for_request(event.visit_id):
            await cancel_assignment(session, row, self.clock(), f"visit cancelled: {event.reason}")
            await repo.request_replan(row.planned_start.astimezone(self.tz).date(), "a visit was cancelled")
