"""The dispatcher's desk: live board, SLA-at-risk list, manual assignment, locks, and the SLA watch."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.bookings import DoubleBooking
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.db.tables import messaging
from services.dispatch.domain.breaks import (
    BreakWindow,
    break_before_stop,
    break_left,
    shift_break,
    squeezes_out_break,
)
from services.dispatch.domain.calendar import local_midnight
from services.dispatch.domain.lifecycle import ACTIVE, STARTED
from services.dispatch.domain.presence import absent_now, board_status
from services.dispatch.domain.records import (
    AssignmentRecord,
    JobRecord,
    NewAssignment,
    ShiftRecord,
    SitedAssignment,
    TechnicianOnShift,
    TechnicianRecord,
    job_label,
)
from services.dispatch.domain.sla import SlaClock, predicted_arrival
from services.dispatch.domain.windows import Window, describe, describe_moment, earliest_start, kept_windows, window_at
from services.dispatch.planning.travel import driving_time
from services.dispatch.usecases.booking import announce, assignment_changed, assignment_created
from services.dispatch.usecases.emergency import EmergencyPlacer, skill_levels
from shared.clock import SystemClock
from shared.db import values_of
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.dispatch import SlaAtRisk
from shared.messaging import add_event

LOOK_FOR_ABSENCES_DAYS = 400  # absences are at most 366 days long: a chain of them is followed this far


@dataclass(frozen=True)
class _Today:
    """What the board reads once for the whole fleet: technicians, today's shifts and bookings, breaks taken."""

    technicians: Mapping[uuid.UUID, TechnicianRecord]
    shifts: Mapping[uuid.UUID, TechnicianOnShift]
    bookings: Mapping[uuid.UUID, list[SitedAssignment]]  # per technician, by planned start, any status
    breaks_taken: Mapping[uuid.UUID, datetime]  # end of the latest break logged today


def _by_technician(bookings: list[SitedAssignment]) -> dict[uuid.UUID, list[SitedAssignment]]:
    grouped: dict[uuid.UUID, list[SitedAssignment]] = {}
    for booking in bookings:
        grouped.setdefault(booking.technician_id, []).append(booking)
    return grouped


def due_break(
    shift: ShiftRecord | TechnicianOnShift | None, tech: TechnicianRecord, logged_end: datetime | None, now: datetime
) -> BreakWindow | None:
    """The shift's break still to take: not if one was taken (or is being taken) since the shift began."""
    if shift is None:
        return None
    window = shift_break(shift.break_minutes, shift.break_earliest, shift.break_latest)
    return break_left(window, shift.starts_at, (tech.break_ends_at, logged_end), now)


async def _hold_days(repo: DispatchRepository, technician_ids: list[uuid.UUID]) -> None:
    """Holds the technicians' days until the commit, before a booking's checks read them: two bookings sent at once
    would each read the day without the other and could together take the room a break needs (the overlap alone is
    the database's constraint). In the order a re-plan takes them: the booking queues, then the technicians' rows,
    whose route-version update an emergency's booking waits on; each in id order, so two moves cannot deadlock."""
    ordered = sorted(set(technician_ids))
    for technician_id in ordered:
        await repo.queue_on_technician(technician_id)
    for technician_id in ordered:
        await repo.get_technician(technician_id, for_update=True)


class DispatchDesk:
    def __init__(self, placer: EmergencyPlacer, clock: Callable[[], datetime] = SystemClock()) -> None:
        self.placer = placer
        self.clock = clock
        self.tz = ZoneInfo(placer.settings.timezone)
        self.travel = placer.travel

    # --- the live board ------------------------------------------------------------------------------

    async def board(self, session: AsyncSession) -> dict[str, Any]:
        """A fixed number of statements whatever the fleet: one per kind of data, no row locks."""
        repo = DispatchRepository(session)
        now = self.clock()
        day = now.astimezone(self.tz).date()
        start, end = local_midnight(day, self.tz), local_midnight(day + timedelta(days=1), self.tz)
        technicians = await repo.list_technicians()
        shifts = {r.id: r for r in await repo.shifts_of_day(day)}
        bookings = await repo.assignments_between(start, end)
        today = _Today(
            {tech.id: tech for tech in technicians},
            shifts,
            _by_technician(bookings),
            await repo.breaks_taken_since(None, start),
        )
        on_shift = {tech_id for tech_id, r in shifts.items() if r.starts_at <= now < r.ends_at}
        absences = await repo.absences_between(None, now, now + timedelta(days=LOOK_FOR_ABSENCES_DAYS))
        board = []
        for tech in technicians:
            absence = absent_now(absences.get(tech.id, []), now)
            board.append(
                {
                    **values_of(tech),
                    "reported_status": tech.status,  # what the technician's app last said
                    "status": board_status(tech.status, tech.id in on_shift, absence),
                    "on_shift": tech.id in on_shift,
                    "absence": {"kind": absence.kind, "until": absence.until} if absence else None,
                    **self._working_day(shifts.get(tech.id), tech, today.breaks_taken.get(tech.id), now),
                    "route": [a for a in today.bookings.get(tech.id, []) if a.status not in ("declined", "cancelled")],
                }
            )
        return {"at": now, "day": day, "technicians": board, "requests": await self._requests(repo, now, today)}

    @staticmethod
    def _working_day(
        shift: TechnicianOnShift | None, tech: TechnicianRecord, logged_end: datetime | None, now: datetime
    ) -> dict[str, Any]:
        """The Gantt's background for a technician: the shift with its overtime allowance, the break still due
        (its window) or the one taken today."""
        if shift is None:
            return {"shift": None, "break_due": None, "break_taken": None}
        due = due_break(shift, tech, logged_end, now)
        taken_end = max((e for e in (tech.break_ends_at, logged_end) if e and e > shift.starts_at), default=None)
        taken = None
        if due is None and taken_end is not None:
            taken = {"start": taken_end - timedelta(minutes=shift.break_minutes or 0), "end": taken_end}
        return {
            "shift": {
                "starts_at": shift.starts_at,
                "ends_at": shift.ends_at,
                "overtime_until": shift.ends_at + timedelta(minutes=tech.overtime_minutes or 0),
            },
            "break_due": {"earliest": due.earliest, "latest": due.latest, "minutes": due.minutes} if due else None,
            "break_taken": taken,
        }

    async def _today(self, repo: DispatchRepository, now: datetime, technician_ids: list[uuid.UUID]) -> _Today:
        """Today of just these technicians (the SLA watch needs only those with open work)."""
        if not technician_ids:
            return _Today({}, {}, {}, {})
        day = now.astimezone(self.tz).date()
        start, end = local_midnight(day, self.tz), local_midnight(day + timedelta(days=1), self.tz)
        technicians = {tech.id: tech for tech in await repo.list_technicians(technician_ids)}
        shifts = {r.id: r for r in await repo.shifts_of_day(day) if r.id in technicians}
        bookings = _by_technician(await repo.assignments_between(start, end, technician_ids))
        return _Today(technicians, shifts, bookings, await repo.breaks_taken_since(technician_ids, start))

    async def _requests(
        self, repo: DispatchRepository, now: datetime, today: _Today | None = None
    ) -> list[dict[str, Any]]:
        """Open requests with their SLA clocks."""
        jobs = await repo.open_jobs()
        active = await repo.active_assignments_of_requests([job.request_id for job in jobs])
        if today is None:
            today = await self._today(repo, now, sorted({a.technician_id for a in active.values()}))
        requests = []
        for job in jobs:
            assignment = active.get(job.request_id)
            clock = await self._clock_of(repo, job, assignment, now, today)
            requests.append(
                {
                    **values_of(job),
                    "assignment": assignment,
                    "minutes_left": clock.minutes_left(now),
                    "predicted_arrival": clock.predicted_arrival,
                    "at_risk": clock.at_risk,
                }
            )
        return requests

    async def _clock_of(
        self,
        repo: DispatchRepository,
        job: JobRecord,
        assignment: AssignmentRecord | None,
        now: datetime,
        today: _Today,
    ) -> SlaClock:
        if job.response_due is None:
            return SlaClock(None, None)
        if assignment is None:
            if job.status == "assigned":
                return SlaClock(job.response_due, None)
            horizon = timedelta(minutes=self.placer.settings.sla_prediction_horizon_minutes)
            if job.response_due > now + horizon:
                return SlaClock(job.response_due, None, judged=False)
            decision = await self.placer.decide(repo, job, now)
            option = decision.best or decision.best_late
            return SlaClock(job.response_due, option.eta if option else None)
        if assignment.status == "on_site":
            return SlaClock(None, None)  # arrived: the response clock stopped
        return SlaClock(job.response_due, self._predicted(job, assignment, now, today))

    def _predicted(self, job: JobRecord, assignment: AssignmentRecord, now: datetime, today: _Today) -> datetime | None:
        tech = today.technicians.get(assignment.technician_id)
        if tech is None:  # gone from the roster: nothing better than the promise
            eta: datetime = assignment.eta
            return eta
        if assignment.status == "en_route":
            travel = driving_time(self.travel, (tech.lat, tech.lon), (job.lat, job.lon))
            return predicted_arrival("en_route", assignment.eta, now, travel)
        stops = [
            a
            for a in today.bookings.get(tech.id, [])
            if a.status in ACTIVE and (a.planned_end > now or a.status in STARTED)
        ]
        before = [a for a in stops if a.id != assignment.id and a.planned_end <= assignment.planned_start]
        previous = max(before, key=lambda a: a.planned_end, default=None)
        origin = (tech.lat, tech.lon)
        if previous is not None and previous.site_lat is not None and previous.site_lon is not None:
            origin = (previous.site_lat, previous.site_lon)
        free_from = [t for t in (previous.planned_end if previous else None, tech.break_ends_at) if t]
        due = due_break(today.shifts.get(tech.id), tech, today.breaks_taken.get(tech.id), now)
        on_the_way = break_before_stop(
            due,
            [(a.planned_start, a.planned_end) for a in stops],
            (assignment.planned_start, assignment.planned_end),
        )
        travel = driving_time(self.travel, origin, (job.lat, job.lon))
        return predicted_arrival(
            assignment.status, assignment.eta, now, travel, max(free_from, default=None), on_the_way
        )

    async def at_risk(self, session: AsyncSession) -> list[dict[str, Any]]:
        """Requests whose predicted arrival is past the response deadline, worst first."""
        # the SLA watch runs this every few seconds: only the requests, not every technician's route
        requests = await self._requests(DispatchRepository(session), self.clock())
        risky = [r for r in requests if r["at_risk"]]
        for r in risky:
            predicted = r["predicted_arrival"]
            r["minutes_late"] = (predicted - r["response_due"]).total_seconds() / 60 if predicted else None
            r["reason"] = (
                "nobody can get there"
                if predicted is None
                else "the assigned technician is predicted late"
                if r["assignment"]
                else "no technician can arrive before the deadline"
            )
        return sorted(risky, key=lambda r: -(r["minutes_late"] if r["minutes_late"] is not None else 1e9))

    async def watch(self, session: AsyncSession) -> int:
        """Raises each newly at-risk request to the dispatchers once (SlaAtRisk)."""
        repo = DispatchRepository(session)
        raised = 0
        for r in await self.at_risk(session):
            if not await repo.raise_alert(
                r["request_id"], "predicted_late", r["predicted_arrival"], r["reason"], at=self.clock()
            ):
                continue
            assignment: AssignmentRecord | None = r["assignment"]
            await add_event(
                session,
                messaging,
                SlaAtRisk(
                    request_id=r["request_id"],
                    customer_id=r["customer_id"],
                    response_due=r["response_due"],
                    predicted_arrival=r["predicted_arrival"],
                    reason=r["reason"],
                    assignment_id=assignment.id if assignment else None,
                    technician_id=assignment.technician_id if assignment else None,
                ),
                occurred_at=self.clock(),
            )
            raised += 1
        return raised

    async def watch_overruns(self, session: AsyncSession) -> int:
        """Each job on site past its planned end plus the grace gets the rest of its day re-planned (again after
        each further grace period it runs on); returns how many were found."""
        repo = DispatchRepository(session)
        now = self.clock()
        grace = timedelta(minutes=self.placer.settings.overrun_grace_minutes)
        found = await repo.overrunning(now, grace)
        for row in found:
            await repo.mark_overran(row.id, now)
            await repo.bump_route_version(row.technician_id)
            await repo.request_replan(row.planned_start.astimezone(self.tz).date(), f"job {job_label(row)} overran")
        return len(found)

    # --- manual assignment ---------------------------------------------------------------------------

    async def _checked_slot(
        self,
        repo: DispatchRepository,
        job: JobRecord,
        technician_id: uuid.UUID,
        planned_start: datetime | None,
        exclude: uuid.UUID | None,
    ) -> tuple[TechnicianRecord, datetime, datetime, datetime]:
        await _hold_days(repo, [technician_id])
        tech = await repo.get_technician(technician_id)
        if tech is None or not tech.active:
            raise NotFound("technician not found")
        missing = [f"{s}≥{lvl}" for s, lvl in skill_levels(job.required_skills).items() if tech.skills.get(s, 0) < lvl]
        if missing:
            raise Conflict(f"{tech.name} lacks {', '.join(missing)} needed by request {job.request_id}")
        eta = self.clock() + driving_time(self.travel, (tech.lat, tech.lon), (job.lat, job.lon))
        windows = kept_windows(job)
        start = planned_start or self._first_open(job, windows, eta, tech)
        window = window_at(windows, start)
        if windows is not None and window is None:
            raise InvalidInput(
                "planned_start",
                f"{self._local(start)} is outside every window of request {job.request_id}: "
                f"{describe(windows, self.tz)}",
            )
        end = start + timedelta(minutes=job.duration_minutes)
        clash = await repo.overlapping(technician_id, start, end, exclude)
        if clash is not None:
            raise Conflict(
                f"{tech.name} is already booked for request {clash.request_id} from "
                f"{clash.planned_start.isoformat()} to {clash.planned_end.isoformat()} "
                f"(assignment {clash.id})"
            )
        await self._check_break_room(repo, tech, job, start, end, exclude)
        arrival = min(eta, start) if planned_start else eta
        # the customer is promised their window, not a wait on the doorstep before it
        return tech, start, end, max(arrival, window.start) if window is not None else arrival

    def _first_open(
        self, job: JobRecord, windows: tuple[Window, ...] | None, eta: datetime, tech: TechnicianRecord
    ) -> datetime:
        """The start of a booking made without a time: the technician's arrival, or the next window's opening."""
        start = earliest_start(windows, eta)
        if start is None:
            assert windows is not None
            raise InvalidInput(
                "planned_start",
                f"every window of request {job.request_id} ({describe(windows, self.tz)}) closes before "
                f"{tech.first_name} can get there ({self._local(eta)}): give a time in one of them",
            )
        return start

    def _local(self, moment: datetime) -> str:
        return describe_moment(moment, self.tz)

    async def _check_break_room(
        self,
        repo: DispatchRepository,
        tech: TechnicianRecord,
        job: JobRecord,
        start: datetime,
        end: datetime,
        exclude: uuid.UUID | None,
    ) -> None:
        """Refuses a booking that leaves the technician no room for the break of that day's shift."""
        shift = await repo.shift_of(tech.id, start.astimezone(self.tz).date())
        window = shift_break(shift.break_minutes, shift.break_earliest, shift.break_latest) if shift else None
        if shift is None or window is None or end <= window.earliest or start >= window.latest + window.length:
            return
        logged = (await repo.breaks_taken_since([tech.id], shift.starts_at)).get(tech.id)
        due = due_break(shift, tech, logged, self.clock())
        if due is None:
            return
        others = [
            (b.planned_start, b.planned_end)
            for b in await repo.active_bookings_between(tech.id, due.earliest, due.latest + due.length, exclude)
        ]
        if squeezes_out_break(due, others, (start, end)):

            def hhmm(moment: datetime) -> str:
                return moment.astimezone(self.tz).strftime("%H:%M")

            raise Conflict(
                f"request {job.request_id} from {hhmm(start)} to {hhmm(end)} leaves "
                f"{tech.first_name} no room for the {window.minutes} min break due to start between "
                f"{hhmm(window.earliest)} and {hhmm(window.latest)}"
            )

    async def assign(
        self,
        session: AsyncSession,
        request_id: uuid.UUID,
        technician_id: uuid.UUID,
        planned_start: datetime | None,
        lock: bool,
        by: str | None = None,
    ) -> uuid.UUID:
        """Books the request on the technician, pinned (`lock`, by the dispatcher `by`) unless told otherwise."""
        repo = DispatchRepository(session)
        job = await repo.get_job(request_id, for_update=True)
        if job is None:
            raise NotFound("request not found")
        if job.status in ("cancelled", "done"):
            raise Conflict(f"request {request_id} is {job.status}")
        active = await repo.active_assignments_for_request(request_id)
        if active:
            raise Conflict(
                f"request {request_id} already has assignment {active[0].id} ({active[0].status}); reassign it instead"
            )
        tech, start, end, eta = await self._checked_slot(repo, job, technician_id, planned_start, None)
        assignment_id = uuid.uuid4()
        try:
            await repo.book(
                NewAssignment(
                    assignment_id,
                    request_id,
                    technician_id,
                    job.customer_id,
                    "offered",
                    start,
                    end,
                    eta,
                    self.clock(),
                )
            )
        except DoubleBooking as exc:
            raise Conflict(f"the booking collided with another one just made: {exc}", retry_after_s=1) from exc
        if lock:
            await repo.set_locked(assignment_id, True, by, self.clock())
        await repo.set_job_status(request_id, "assigned")
        await repo.bump_route_version(technician_id)
        await announce(
            session,
            assignment_created(
                assignment_id,
                job,
                technician_id,
                tech.first_name,
                "offered",
                start,
                end,
                eta,
            ),
            occurred_at=self.clock(),
        )
        return assignment_id

    async def reassign(
        self,
        session: AsyncSession,
        assignment_id: uuid.UUID,
        technician_id: uuid.UUID,
        planned_start: datetime | None,
        lock: bool,
        by: str | None = None,
    ) -> None:
        """Moves the booking to the technician (and time), pinned (`lock`, by `by`) unless told otherwise."""
        repo = DispatchRepository(session)
        row = await repo.get_assignment(assignment_id, for_update=True)
        if row is None:
            raise NotFound("assignment not found")
        if row.status not in ("offered", "accepted"):
            raise Conflict(f"assignment {assignment_id} is {row.status}: only offered or accepted work moves")
        job = await repo.get_job(row.request_id)
        assert job is not None
        await _hold_days(repo, [technician_id, row.technician_id])
        tech, start, end, eta = await self._checked_slot(repo, job, technician_id, planned_start, assignment_id)
        try:
            async with session.begin_nested():
                await repo.move_assignment(
                    assignment_id,
                    planned_start=start,
                    planned_end=end,
                    eta=eta,
                    technician_id=technician_id,
                    status="offered" if technician_id != row.technician_id else None,
                    first_eta=eta,  # the dispatcher's new promise (the customer is told below): re-plans keep to it
                )
        except Exception as exc:
            raise Conflict(f"the new slot collides with another booking: {exc}", retry_after_s=1) from exc
        if lock:
            await repo.set_locked(assignment_id, True, by, self.clock())
        await repo.bump_route_versions([technician_id, row.technician_id])
        status = "offered" if technician_id != row.technician_id else row.status
        await announce(
            session,
            assignment_changed(
                row,
                technician_id,
                tech.first_name,
                status,
                start,
                end,
                eta,
                "reassigned by a dispatcher",
            ),
            occurred_at=self.clock(),
        )

    async def lock(
        self, session: AsyncSession, assignment_id: uuid.UUID, locked: bool, by: str | None = None
    ) -> AssignmentRecord:
        """Pins the booking (re-plans keep its technician and time) or releases it to the planner."""
        repo = DispatchRepository(session)
        row = await repo.get_assignment(assignment_id, for_update=True)
        if row is None:
            raise NotFound("assignment not found")
        if row.status not in STARTED and row.status not in ("offered", "accepted"):
            raise Conflict(f"assignment {assignment_id} is {row.status}")
        if row.locked != locked:
            await repo.set_locked(assignment_id, locked, by, self.clock())
        updated = await repo.get_assignment(assignment_id)
        assert updated is not None
        return updated
