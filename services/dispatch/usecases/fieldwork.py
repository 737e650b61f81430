"""What technicians do with their jobs: accept, decline, move through the lifecycle, report, ping positions.

Every mobile command carries the client's own id: the first answer is stored under it, so an offline
queue replayed any number of times changes nothing more and gets the same answers back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.lifecycle import (
    TECHNICIAN_STATUS,
    TransitionRefused,
    check_transition,
    status_after_break,
)
from services.dispatch.usecases.booking import announce_status
from services.dispatch.usecases.emergency import EmergencyPlacer
from shared.auth import Principal, ensure_technician_access
from shared.clock import SystemClock
from shared.errors import Conflict, DomainError, InvalidInput, NotFound
from shared.events.common import GeoPoint
from shared.http import domain_problem_body

_CLOCK_SKEW = timedelta(minutes=5)


class FieldWork:
    def __init__(self, placer: EmergencyPlacer, clock: Callable[[], datetime] = SystemClock()) -> None:
        self.placer = placer
        self.clock = clock
        self.tz = ZoneInfo(placer.settings.timezone)

    async def change_status(
        self,
        session: AsyncSession,
        principal: Principal,
        assignment_id: uuid.UUID,
        status: str,
        at: datetime | None,
        position: GeoPoint | None,
        outcome: str | None = None,
        report: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """One checked step of the lifecycle, timestamped and positioned; nobody acts on another's job."""
        repo = DispatchRepository(session)
        row = await repo.get_assignment(assignment_id, for_update=True)
        if row is None:
            raise NotFound("assignment not found")
        ensure_technician_access(principal, row["technician_id"], "assignment")
        if row["status"] == status:
            return row
        try:
            check_transition(row["status"], status, outcome)
        except TransitionRefused as exc:
            raise Conflict(str(exc)) from exc
        now = self.clock()
        at = at or now
        if at > now + _CLOCK_SKEW:
            raise InvalidInput("at", "is in the future")
        if row["last_transition_at"] is not None and at < row["last_transition_at"]:
            raise InvalidInput("at", "is before the assignment's previous step")
        point = (position.lat, position.lon) if position else None
        detail = {"by": principal.subject, **({"reason": reason} if reason else {})}
        await repo.set_assignment_status(assignment_id, status, at, point, detail, outcome, report)
        if point is not None:
            await repo.move_technician(row["technician_id"], at, *point)
        technician_status = TECHNICIAN_STATUS.get(status, "available")
        await repo.set_technician_status(row["technician_id"], technician_status or "available")
        await repo.bump_route_version(row["technician_id"])
        await announce_status(session, row, status, at, position=position, outcome=outcome, reason=reason)
        await self._follow_up(session, repo, row, status, outcome)
        updated = await repo.get_assignment(assignment_id)
        assert updated is not None
        return updated

    async def _follow_up(
        self, session: AsyncSession, repo: DispatchRepository, row: dict[str, Any], status: str, outcome: str | None
    ) -> None:
        day = row["planned_start"].astimezone(self.tz).date()
        if status == "declined":
            job = await repo.get_job(row["request_id"])
            assert job is not None
            await repo.set_job_status(row["request_id"], "open")
            if job["kind"] == "emergency":
                await self.placer.place(session, row["request_id"])  # someone else, at once
            else:
                await repo.request_replan(day, "a technician declined a visit")
        elif status == "completed":
            await repo.set_job_status(row["request_id"], "done")
        elif status == "failed":
            await repo.set_job_status(row["request_id"], "failed", outcome)
            await repo.request_replan(day, f"a visit failed ({outcome})")

    async def take_break(
        self,
        session: AsyncSession,
        technician_id: uuid.UUID,
        on_break: bool,
        at: datetime | None = None,
        minutes: int | None = None,
    ) -> dict[str, Any]:
        """Starts (at `at`, for `minutes`) or ends the technician's break; refused while en route or on site.

        The route version moves with it: a placement that saw the technician free before must look again.
        """
        now = self.clock()
        start = min(at or now, now)  # an offline queue's break started when the device says, never later than now
        repo = DispatchRepository(session)
        technician = await repo.get_technician(technician_id, for_update=True)
        if technician is None:
            raise NotFound("technician not found")
        try:
            status = status_after_break(technician["status"], on_break)
        except TransitionRefused as exc:
            raise Conflict(str(exc)) from exc
        ends_at = start + timedelta(minutes=minutes or self.placer.settings.break_minutes) if on_break else None
        await repo.set_technician_status(technician_id, status, ends_at)
        await repo.bump_route_version(technician_id)
        return {
            "technician_id": str(technician_id),
            "status": status,
            "break_ends_at": ends_at.isoformat() if ends_at else None,
        }

    async def report_pings(
        self, session: AsyncSession, technician_id: uuid.UUID, pings: list[tuple[datetime, float, float, int | None]]
    ) -> int:
        repo = DispatchRepository(session)
        stored = await repo.add_pings(technician_id, pings)
        if pings:
            at, lat, lon, _ = max(pings)
            await repo.move_technician(technician_id, at, lat, lon)
        return stored

    async def once(
        self,
        session: AsyncSession,
        technician_id: uuid.UUID,
        client_command_id: uuid.UUID,
        kind: str,
        command: Callable[[], Awaitable[Any]],
    ) -> tuple[int, Any]:
        """Runs `command` the first time this command id is seen; afterwards returns the stored answer."""
        repo = DispatchRepository(session)
        seen = await repo.get_command(client_command_id)
        if seen is not None:
            if seen["technician_id"] != technician_id:
                raise NotFound("command not found")
            return seen["status_code"], seen["response"]
        try:
            async with session.begin_nested():
                status_code, answer = 200, await command()
        except DomainError as exc:
            status_code = exc.status
            answer = domain_problem_body(exc)
        if not await repo.save_command(client_command_id, technician_id, kind, status_code, answer):
            raise Conflict("the same command is being applied right now; retry")
        return status_code, answer
