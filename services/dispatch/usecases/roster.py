"""Technicians and their shift calendar: the weekly pattern and absences, made concrete per day."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.calendar import WeeklyShift, absence_reason, local_midnight, shift_on
from services.dispatch.settings import Settings
from shared.clock import SystemClock
from shared.errors import InvalidInput, NotFound


def weekly_pattern(stored: Mapping[str, Any] | None) -> dict[str, WeeklyShift] | None:
    if stored is None:
        return None

    def clock(value: str | None) -> time | None:
        return time.fromisoformat(value) if value else None

    pattern = {}
    for weekday, s in stored.items():
        start, end = clock(s["start"]), clock(s["end"])
        assert start is not None and end is not None
        pattern[weekday] = WeeklyShift(
            start, end, int(s.get("break_minutes") or 0), clock(s.get("break_earliest")), clock(s.get("break_latest"))
        )
    return pattern


class Roster:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = SystemClock()) -> None:
        self.settings = settings
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)

    def horizon(self) -> list[date]:
        """Yesterday (a night shift may still run) through the planning horizon."""
        today = self.clock().astimezone(self.tz).date()
        return [today + timedelta(days=k) for k in range(-1, self.settings.plan_horizon_days + 1)]

    async def materialize(
        self,
        repo: DispatchRepository,
        technician_id: uuid.UUID,
        stored_pattern: Mapping[str, Any] | None,
        days: list[date],
    ) -> None:
        # no shifts of their own: the company's working hours
        pattern = weekly_pattern(stored_pattern if stored_pattern is not None else self.settings.default_weekly_shifts)
        first, last = local_midnight(min(days), self.tz), local_midnight(max(days) + timedelta(days=2), self.tz)
        absences = (await repo.absences_between([technician_id], first, last)).get(technician_id, [])
        spans = [s for day in days if (s := shift_on(day, pattern, absences, self.tz)) is not None]
        await repo.replace_shifts(technician_id, days, spans)

    async def add_technician(
        self,
        session: AsyncSession,
        name: str,
        first_name: str,
        skills: dict[str, int],
        lat: float,
        lon: float,
        weekly_shifts: dict[str, Any] | None,
        territory: str | None,
        overtime_minutes: int,
        phone: str = "",
        *,
        max_travel_minutes: int | None = None,
        overtime_cost_per_hour: float | None = None,
        territory_ids: Sequence[uuid.UUID] = (),
    ) -> uuid.UUID:
        repo = DispatchRepository(session)
        technician_id = uuid.uuid4()
        await repo.add_technician(
            technician_id,
            name,
            first_name,
            skills,
            lat,
            lon,
            weekly_shifts,
            territory,
            overtime_minutes,
            phone,
            max_travel_minutes,
            overtime_cost_per_hour,
            sorted(set(territory_ids)),
        )
        await self.materialize(repo, technician_id, weekly_shifts, self.horizon())
        return technician_id

    async def set_weekly_shifts(
        self, session: AsyncSession, technician_id: uuid.UUID, weekly_shifts: dict[str, Any] | None
    ) -> None:
        repo = DispatchRepository(session)
        if await repo.get_technician(technician_id) is None:
            raise NotFound("technician not found")
        await repo.set_weekly_shifts(technician_id, weekly_shifts)
        days = self.horizon()
        await self.materialize(repo, technician_id, weekly_shifts, days)
        for day in days[1:]:
            await repo.request_replan(day, "a shift pattern changed")

    async def set_limits(
        self,
        session: AsyncSession,
        technician_id: uuid.UUID,
        overtime_minutes: int,
        max_travel_minutes: int | None,
        overtime_cost_per_hour: float | None,
    ) -> None:
        """The technician's overtime allowance, daily driving limit and overtime rate; the days ahead are re-planned."""
        repo = DispatchRepository(session)
        if await repo.get_technician(technician_id) is None:
            raise NotFound("technician not found")
        await repo.set_limits(technician_id, overtime_minutes, max_travel_minutes, overtime_cost_per_hour)
        for day in self.horizon()[1:]:
            await repo.request_replan(day, "a technician's limits changed")

    async def add_absence(
        self,
        session: AsyncSession,
        technician_id: uuid.UUID,
        kind: str,
        starts_at: datetime,
        ends_at: datetime,
        note: str,
    ) -> uuid.UUID:
        if ends_at <= starts_at:
            raise InvalidInput("ends_at", "must be after starts_at")
        repo = DispatchRepository(session)
        technician = await repo.get_technician(technician_id)
        if technician is None:
            raise NotFound("technician not found")
        absence_id = await repo.add_absence(technician_id, kind, starts_at, ends_at, note)
        affected = [
            d
            for d in self.horizon()
            if local_midnight(d, self.tz) < ends_at and local_midnight(d + timedelta(days=1), self.tz) > starts_at
        ]
        if affected:
            await self.materialize(repo, technician_id, technician.weekly_shifts, affected)
            await repo.bump_route_version(technician_id)
            for day in affected:
                await repo.request_replan(day, absence_reason(technician.first_name, kind))
        return absence_id

    async def refresh(self, session: AsyncSession) -> None:
        """Rolls every technician's concrete shifts forward over the horizon (the scheduled run)."""
        repo = DispatchRepository(session)
        days = self.horizon()
        for technician in await repo.list_technicians():
            await self.materialize(repo, technician.id, technician.weekly_shifts, days)
