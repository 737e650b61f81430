"""What technicians do with their jobs: accept, decline, move through the lifecycle, report, ping positions.

Every mobile command carries the client's own id: the first answer is stored under it, so an offline
queue replayed any number of times changes nothing more and gets the same answers back.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.device_time import device_time_refusal
from services.dispatch.domain.lifecycle import (
    STARTED,
    TECHNICIAN_STATUS,
    TransitionRefused,
    check_transition,
    status_after_break,
)
from services.dispatch.domain.plausibility import Plausibility, Suspicion, check_arrival, check_completion
from services.dispatch.domain.records import AssignmentRecord, JobRecord
from services.dispatch.planning.travel import driving_time, great_circle_km
from services.dispatch.usecases.booking import announce, announce_moved, announce_status, assignment_changed
from services.dispatch.usecases.emergency import EmergencyPlacer
from shared.auth import Principal, Role, ensure_technician_access
from shared.clock import SystemClock
from shared.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from shared.events.common import GeoPoint
from shared.http import domain_problem_body
from shared.timestamps import utc_z


def _great_circle_m(origin: tuple[float, float], site: tuple[float, float]) -> float:
    """Metres as the crow flies from `origin` to `site` (lat, lon), for the plausibility rules."""
    return float(great_circle_km(np.array([origin]), np.array([site]))[0, 0]) * 1000.0


class FieldWork:
    def __init__(self, placer: EmergencyPlacer, clock: Callable[[], datetime] = SystemClock()) -> None:
        self.placer = placer
        self.clock = clock
        settings = placer.settings
        self.tz = ZoneInfo(settings.timezone)
        self.travel = placer.travel
        self.rules = Plausibility(
            speedup=settings.implausible_speedup,
            arrival_radius_m=settings.arrival_radius_m,
            least_work_share=settings.least_work_share,
        )

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
    ) -> AssignmentRecord:
        """One checked step of the lifecycle, timestamped and positioned; nobody acts on another's job.

        Only a dispatcher cancels, and says why (a technician declines or reports the visit failed instead).
        The ETA follows: from the position at en route, the arrival itself once on site. A step no one could
        really have made is recorded as it came, marked suspect, and raised to the dispatchers.
        """
        repo = DispatchRepository(session)
        row = await repo.get_assignment(assignment_id, for_update=True)
        if row is None:
            raise NotFound("assignment not found")
        ensure_technician_access(principal, row.technician_id, "assignment")
        if row.status == status:
            return row
        if status == "cancelled":
            if principal.role != Role.DISPATCHER:
                raise Forbidden("only a dispatcher cancels an assignment: decline it, or report the visit failed")
            if not reason or not reason.strip():
                raise InvalidInput("reason", "is needed to cancel an assignment")
        if status in ("completed", "failed") and report is None and principal.role == Role.TECHNICIAN:
            raise Forbidden("a technician completes or fails a visit with its report (/me/assignments/{id}/report)")
        try:
            check_transition(row.status, status, outcome)
        except TransitionRefused as exc:
            raise Conflict(str(exc)) from exc
        now = self.clock()
        at = at or now
        if refusal := device_time_refusal(at, now, row.booked_at):
            raise InvalidInput("at", refusal)
        if row.last_transition_at is not None and at < row.last_transition_at:
            raise InvalidInput("at", "is before the assignment's previous step")
        job = await repo.get_job(row.request_id)
        assert job is not None
        point = (position.lat, position.lon) if position else None
        suspicion = await self._implausible(repo, row, job, status, at, point)
        detail = {
            "by": principal.subject,
            "received_at": utc_z(now),  # the server's receipt beside the device's time (`at`)
            **({"reason": reason} if reason else {}),
            **({"suspect": suspicion.reason} if suspicion else {}),
        }
        await repo.set_assignment_status(assignment_id, status, at, point, detail, outcome, report)
        if point is not None:
            await repo.move_technician(row.technician_id, at, *point)
        if status in STARTED or row.status in STARTED:  # an offer withdrawn leaves them doing what they were
            technician_status = TECHNICIAN_STATUS.get(status, "available")
            await repo.set_technician_status(row.technician_id, technician_status or "available")
        await repo.bump_route_version(row.technician_id)
        eta = row.eta
        if status == "on_site":
            eta = at  # arrived: the ETA is the arrival, no longer ahead
        elif status == "en_route":
            eta = await self._eta_at(repo, row, (job.lat, job.lon), at, point)
        if suspicion is not None:
            await repo.mark_suspect(assignment_id, suspicion.reason)
            await repo.raise_alert(
                row.request_id, suspicion.kind, None, f"assignment {assignment_id}: {suspicion.reason}", at=now
            )
        await announce_status(
            session,
            replace(row, eta=eta),
            status,
            at,
            position=position,
            outcome=outcome,
            reason=reason,
            suspect=suspicion.reason if suspicion else None,
            occurred_at=self.clock(),
        )
        if status == "en_route" and eta != row.eta:
            await self._tell_eta(session, repo, replace(row, status=status), eta, "on the way")
        await self._follow_up(session, repo, row, job, status, outcome, reason)
        updated = await repo.get_assignment(assignment_id)
        assert updated is not None
        return updated

    async def _implausible(
        self,
        repo: DispatchRepository,
        row: AssignmentRecord,
        job: JobRecord,
        status: str,
        at: datetime,
        point: tuple[float, float] | None,
    ) -> Suspicion | None:
        if status == "on_site":
            left = await repo.step_at(row.id, "en_route")
            distance = travel = off_site = None
            if left is not None:
                origin = (left.lat, left.lon) if left.lat is not None and left.lon is not None else None
                if origin is None:  # the en-route step had no position: where the technician was last seen
                    tech = await repo.get_technician(row.technician_id)
                    origin = (tech.lat, tech.lon) if tech else None
                if origin is not None:
                    site = (job.lat, job.lon)
                    distance, travel = _great_circle_m(origin, site), driving_time(self.travel, origin, site)
            if point is not None:
                off_site = _great_circle_m(point, (job.lat, job.lon))
            return check_arrival(left.at if left else None, at, distance, travel, off_site, self.rules)
        if status == "completed":
            return check_completion(row.arrived_at, at, timedelta(minutes=job.duration_minutes), self.rules)
        return None

    async def _eta_at(
        self,
        repo: DispatchRepository,
        row: AssignmentRecord,
        site: tuple[float, float],
        at: datetime,
        point: tuple[float, float] | None,
    ) -> datetime:
        """The arrival expected from the technician's position at `at` (else the last one known) by the travel
        model."""
        if point is None:
            tech = await repo.get_technician(row.technician_id)
            point = (tech.lat, tech.lon) if tech else site
        return at + driving_time(self.travel, point, site)

    async def _tell_eta(
        self, session: AsyncSession, repo: DispatchRepository, row: AssignmentRecord, eta: datetime, why: str
    ) -> None:
        """Stores the new ETA and tells everyone (assignment.changed: the customer sees it)."""
        await repo.set_eta(row.id, eta)
        tech = await repo.get_technician(row.technician_id)
        await announce(
            session,
            assignment_changed(
                row,
                row.technician_id,
                tech.first_name if tech else "",
                row.status,
                row.planned_start,
                row.planned_end,
                eta,
                f"{why}: arrival expected at {eta.astimezone(self.tz):%H:%M}",
            ),
            occurred_at=self.clock(),
        )

    async def _follow_up(
        self,
        session: AsyncSession,
        repo: DispatchRepository,
        row: AssignmentRecord,
        job: JobRecord,
        status: str,
        outcome: str | None,
        reason: str | None,
    ) -> None:
        """A visit that will not happen puts its job back to placement: an emergency at once, other work with a
        re-plan of its day."""
        day = row.planned_start.astimezone(self.tz).date()
        why = {
            "declined": "a technician declined a visit",
            "cancelled": f"a dispatcher cancelled a visit ({reason})",
            "failed": f"a visit failed ({outcome})",
        }.get(status)
        if status == "completed":
            await repo.set_job_status(row.request_id, "done")
        elif why is not None and job.status not in ("cancelled", "done"):
            await repo.set_job_status(row.request_id, "open", None if status == "declined" else why)
            if job.kind == "emergency":
                await self.placer.place(session, row.request_id)  # someone else, at once
            else:
                await repo.request_replan(max(day, self.clock().astimezone(self.tz).date()), why)

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
        if at is not None and (refusal := device_time_refusal(at, now)):
            raise InvalidInput("at", refusal)
        start = min(at or now, now)  # an offline queue's break started when the device says, never later than now
        repo = DispatchRepository(session)
        technician = await repo.get_technician(technician_id, for_update=True)
        if technician is None:
            raise NotFound("technician not found")
        try:
            status = status_after_break(technician.status, on_break)
        except TransitionRefused as exc:
            raise Conflict(str(exc)) from exc
        ends_at = start + timedelta(minutes=minutes or self.placer.settings.break_minutes) if on_break else None
        await repo.set_technician_status(technician_id, status, ends_at)
        await repo.bump_route_version(technician_id)
        return {
            "technician_id": str(technician_id),
            "status": status,
            "break_ends_at": utc_z(ends_at) if ends_at else None,
        }

    async def report_pings(
        self, session: AsyncSession, technician_id: uuid.UUID, pings: list[tuple[datetime, float, float, int | None]]
    ) -> int:
        """Stores the pings (the device's time of each fix, the server's of receipt); the live position follows
        the newest (and the dispatchers' map hears of it: technician.moved), and so does the ETA of a job en route
        when it moves by more than the settings' eta_update_minutes."""
        now = self.clock()
        for i, (ping_at, *_) in enumerate(pings):
            if refusal := device_time_refusal(ping_at, now):
                raise InvalidInput(f"pings[{i}].at", refusal)
        repo = DispatchRepository(session)
        stored = await repo.add_pings(technician_id, pings, received_at=now)
        if pings:
            at, lat, lon, accuracy_m = max(pings)
            en_route = await repo.en_route_of(technician_id)  # locked before the technician, as status steps do
            known = await repo.get_technician(technician_id)
            if known is None or (known.position_at is not None and at <= known.position_at):
                en_route = []  # an older batch replayed: the position and the ETA stay with the newer one
            else:
                await announce_moved(session, technician_id, at, lat, lon, accuracy_m, occurred_at=now)
            await repo.move_technician(technician_id, at, lat, lon)
            least = timedelta(minutes=self.placer.settings.eta_update_minutes)
            for row in en_route:
                if row.last_transition_at is not None and at < row.last_transition_at:
                    continue  # a ping from before the technician set off
                if row.site_lat is None or row.site_lon is None:
                    continue
                eta = await self._eta_at(repo, row, (row.site_lat, row.site_lon), at, (lat, lon))
                if abs(eta - row.eta) > least:
                    await self._tell_eta(session, repo, row, eta, "on the way")
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
            if seen.technician_id != technician_id:
                raise NotFound("command not found")
            return seen.status_code, seen.response
        try:
            async with session.begin_nested():
                status_code, answer = 200, await command()
        except DomainError as exc:
            status_code = exc.status
            answer = domain_problem_body(exc)
        if not await repo.save_command(client_command_id, technician_id, kind, status_code, answer):
            raise Conflict("the same command is being applied right now; retry", retry_after_s=1)
        return status_code, answer
