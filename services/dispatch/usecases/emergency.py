"""Placing new work: record the job; an emergency is booked at once into the live day.

Candidates come from PostGIS (skilled, on shift, within reach, nearest first); the placement rule (the
planner's reactive insertion) picks the earliest feasible arrival that meets the SLA; the booking is
written under the database's constraints and the technician's route version, and retried on conflict.
Planned maintenance due at the same site rides along in the same visit.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.bookings import DoubleBooking
from services.dispatch.db.emergency_bookings import EmergencyBooking
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.db.tables import messaging
from services.dispatch.domain.bundling import DueVisit, visits_to_bundle
from services.dispatch.domain.lifecycle import STARTED
from services.dispatch.domain.placement import BookedStop, Candidate, Decision, Job, Option, PlacementRule
from services.dispatch.domain.records import JobRecord, NewAssignment, NewJob, job_label
from services.dispatch.domain.windows import Window, hull, merged, windows_json
from services.dispatch.planning import RoadFactorTravel
from services.dispatch.planning.travel_cache import TravelModel
from services.dispatch.settings import Settings
from services.dispatch.usecases.booking import (
    BookedBefore,
    announce,
    assignment_changed,
    assignment_created,
    cancel_assignment,
    to_candidates,
)
from shared.clock import SystemClock
from shared.db import Database
from shared.events.dispatch import RequestUnplaceable, SlaAtRisk
from shared.events.envelope import Envelope, Event
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import add_event, outbox_row
from shared.metrics import observe_placement

log = logging.getLogger(__name__)


class _RouteMoved(Exception):
    """Someone changed the chosen technician's route since we read it."""


def skill_levels(needs: Sequence[dict[str, Any]], *more: Mapping[str, int]) -> dict[str, int]:
    """The stored [{"skill", "min_level"}] as skill → level, raised to the levels of `more`."""
    skills: dict[str, int] = {}
    for s in needs:
        skills[s["skill"]] = max(skills.get(s["skill"], 0), int(s.get("min_level", 1)))
    for extra in more:
        for skill, level in extra.items():
            skills[skill] = max(skills.get(skill, 0), level)
    return skills


NO_ONE_IN_TERRITORY = (
    "no technician of the site's territory with the skills is on shift within reach (crossing territories is forbidden)"
)


class EmergencyPlacer:
    def __init__(
        self,
        settings: Settings,
        rule: PlacementRule,
        clock: Callable[[], datetime] = SystemClock(),
        travel: TravelModel | None = None,
    ) -> None:
        """`travel`: the one travel model of the service (the rule's, the desk's, the re-plan's)."""
        self.settings = settings
        self.rule = rule
        self.clock = clock
        self.travel = travel or RoadFactorTravel(road_factor=settings.road_factor)
        self.tz = ZoneInfo(settings.timezone)
        self.promise_tolerance = timedelta(minutes=settings.eta_tolerance_minutes)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _told(self, stop: BookedStop, eta: datetime) -> str:
        """What a pushed booking's customer is told when the push breaks the promised arrival (else nothing)."""
        if stop.promised_eta is None or eta - stop.promised_eta <= self.promise_tolerance:
            return ""
        new, promised = eta.astimezone(self.tz), stop.promised_eta.astimezone(self.tz)
        return f"; the customer is told the new arrival {new:%H:%M} (promised {promised:%H:%M})"

    async def on_request_created(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, ServiceRequestCreated)
        repo = DispatchRepository(session)
        # "this one or that one": kept as a list, the row's window_start/end only their span
        windows = merged(Window(w.start, w.end) for w in event.preferred_windows)
        first, last = hull(windows)
        job = await repo.add_job(
            NewJob(
                request_id=event.request_id,
                customer_id=event.customer_id,
                site_id=event.site_id,
                kind=event.kind,
                priority=event.priority,
                required_skills=[s.model_dump() for s in event.required_skills],
                response_due=event.response_due,
                fix_due=event.fix_due,
                duration_minutes=event.estimated_duration_minutes,
                status="open",
                contract_id=event.contract_id,
                description=event.description,
                equipment_ids=[str(event.equipment_id)] if event.equipment_id else [],
                window_start=first,
                window_end=last or event.response_due,
                contact_name=event.contact_name,
                contact_phone=event.contact_phone,
                address=event.address or None,
                created_at=event.created_at,
                windows=windows_json(windows) if windows else None,
                late_penalty_per_hour=event.late_penalty_per_hour,
                visit_value=event.visit_value,
                territory_id=event.territory_id,
            ),
            event.location.lat,
            event.location.lon,
        )
        if job is None:
            return
        if event.kind == "emergency":
            await self.place(session, event.request_id, new_job=job)
            return
        # routine work waits for the planner: the days it may go on are re-planned (each window's)
        now = self.clock()
        days = sorted({self.local_day(max(now, w.start)) for w in windows if w.end >= now} or {self.local_day(now)})
        horizon = self.local_day(now) + timedelta(days=self.settings.plan_horizon_days)
        for day in [d for d in days if d <= horizon] or days[:1]:
            await repo.request_replan(day, f"new {event.kind} request")

    async def decide(
        self,
        repo: DispatchRepository,
        job: JobRecord,
        now: datetime,
        bundle: Sequence[DueVisit] = (),
        exclude: Sequence[uuid.UUID] = (),
    ) -> Decision:
        """Read-only: who could take `job` (with `bundle` riding along) and when."""
        decision, _ = await self._weigh(repo, job, now, bundle, exclude)
        return decision

    async def _weigh(
        self,
        repo: DispatchRepository,
        job: JobRecord,
        now: datetime,
        bundle: Sequence[DueVisit],
        exclude: Sequence[uuid.UUID],
    ) -> tuple[Decision, list[Candidate]]:
        skills = skill_levels(job.required_skills, *(v.required_skills for v in bundle))
        policy = await repo.territory_policy()
        rows = await repo.candidates(
            job.lat,
            job.lon,
            skills,
            now,
            self.settings.reach_km * 1000,
            self.settings.candidate_pool,
            exclude,
            shift_starts_before=now + timedelta(hours=self.settings.candidate_horizon_hours),
            only_territory=job.territory_id if policy.forbidden else None,
        )
        bookings = await repo.bookings_ahead([r.id for r in rows], now, now + timedelta(days=1))
        skip = frozenset(v.request_id for v in bundle)
        duration = job.duration_minutes + sum(v.duration_minutes for v in bundle)
        shift_starts = [r.shift_start for r in rows]
        logged = await repo.breaks_taken_since([r.id for r in rows], min(shift_starts)) if shift_starts else {}
        urgent = Job(job.request_id, job.lat, job.lon, duration, job.response_due, skills)
        # every customer's told arrival kept first; where no one can then meet the SLA, the SLA comes first and the
        # promises it breaks are told (see _book)
        candidates = to_candidates(rows, bookings, now, skip, logged, policy, job.territory_id, self.promise_tolerance)
        if not candidates and policy.forbidden and job.territory_id is not None:
            return Decision(None, None, NO_ONE_IN_TERRITORY), candidates
        decision = await self._decide(urgent, candidates, now)
        if decision.best is None:
            candidates = to_candidates(rows, bookings, now, skip, logged, policy, job.territory_id)
            decision = await self._decide(urgent, candidates, now)
        return decision, candidates

    async def _decide(self, urgent: Job, candidates: list[Candidate], now: datetime) -> Decision:
        if isinstance(self.travel, RoadFactorTravel):
            return self.rule.decide(urgent, candidates, now)
        # a road engine may answer over the network (what its cache lacks): off the event loop
        return await asyncio.to_thread(self.rule.decide, urgent, candidates, now)

    async def retry_waiting(self, db: Database, limit: int = 50) -> list[uuid.UUID]:
        """Tries again the emergencies nobody is booked for (nobody could take them when filed, or a re-plan had to
        let them go), most urgent first, each in its own transaction so one failure holds no other back; returns
        those tried."""
        async with db.transaction() as session:
            waiting = await DispatchRepository(session).waiting_emergencies(limit)
        for request_id in waiting:
            async with db.transaction() as session:
                await self.place(session, request_id)
        return waiting

    @observe_placement
    async def place(
        self, session: AsyncSession, request_id: uuid.UUID, new_job: JobRecord | None = None
    ) -> Option | None:
        """Books the emergency (retrying when another placement got there first); None if nobody can go.

        `new_job`: the job row just recorded in this transaction (no need to read and lock it again).
        """
        repo = DispatchRepository(session)
        job = new_job or await repo.get_job(request_id, for_update=True)
        if job is None or job.status not in ("open", "unplaceable"):
            return None
        exclude = [] if new_job is not None else await repo.declined_by(request_id)
        decision: Decision | None = None
        for attempt in range(self.settings.booking_attempts):
            now = self.clock()
            bundle = await self._bundle(repo, job, now)
            decision, candidates = await self._weigh(repo, job, now, bundle, exclude)
            option = decision.best or (decision.best_late if self.settings.book_late_emergencies else None)
            if option is None:
                break
            route = next(c for c in candidates if c.technician_id == option.technician_id)
            try:
                async with repo.booking_attempt():
                    await self._book(session, repo, job, option, route.stops, bundle)
            except (DoubleBooking, _RouteMoved) as exc:
                log.debug("placement of %s retried (attempt %s): %s", request_id, attempt + 1, exc)
                continue
            if not option.meets_sla:
                await self._alert_late(session, repo, job, option, decision.reason)
            return option
        assert decision is not None
        reason = decision.reason or "every booking attempt collided with another placement"
        if job.status == "unplaceable" and job.unplaceable_reason == reason:
            return None  # a retry that found nothing new: the dispatcher was told already
        await repo.set_job_status(request_id, "unplaceable", reason)
        # the reactive insertion moves nothing already booked; a plan of the day may (lower-value work let go,
        # retimed or given to someone else), so today's re-plan takes it into account
        await repo.request_replan(self.local_day(self.clock()), f"emergency at {job_label(job)} found no room")
        late = decision.best_late
        await add_event(
            session,
            messaging,
            RequestUnplaceable(
                request_id=request_id,
                customer_id=job.customer_id,
                reason=reason,
                best_option=late.describe() if late else None,
                best_technician_id=late.technician_id if late else None,
                best_eta=late.eta if late else None,
                response_due=job.response_due,
            ),
            occurred_at=self.clock(),
        )
        return None

    async def _bundle(self, repo: DispatchRepository, job: JobRecord, now: datetime) -> list[DueVisit]:
        due = await repo.due_visits_at_site(job.site_id, job.request_id)
        visits = [
            DueVisit(
                request_id=v.request_id,
                window_start=v.window_start,
                window_end=v.window_end,
                duration_minutes=v.duration_minutes,
                started=v.assignment_status in STARTED,
                required_skills=skill_levels(v.required_skills),
            )
            for v in due
        ]
        return visits_to_bundle(visits, now, timedelta(hours=self.settings.bundle_lookahead_hours))

    async def _book(
        self,
        session: AsyncSession,
        repo: DispatchRepository,
        job: JobRecord,
        option: Option,
        route: Sequence[BookedStop],
        bundle: Sequence[DueVisit],
    ) -> None:
        """One statement writes the booking, the pushed bookings, their events and the re-plan request."""
        if bundle:  # the bundled visits move in after it: the route is whole again only at the end
            await repo.defer_overlap_check()
        booked = {s.assignment_id: s for s in route}
        reason = f"an emergency was fitted in before it ({option.first_name})"
        told = {m.assignment_id: self._told(booked[m.assignment_id], m.eta) for m in option.retimed}
        emergency_end = option.planned_start + timedelta(minutes=job.duration_minutes)
        assignment = NewAssignment(
            id=uuid.uuid4(),
            request_id=job.request_id,
            technician_id=option.technician_id,
            customer_id=job.customer_id,
            status="offered",
            planned_start=option.planned_start,
            planned_end=emergency_end,
            eta=option.eta,
            booked_at=self.clock(),
        )
        events = [
            outbox_row(
                assignment_changed(
                    BookedBefore(
                        m.assignment_id,
                        booked[m.assignment_id].request_id,
                        booked[m.assignment_id].customer_id,
                        option.technician_id,
                        booked[m.assignment_id].eta,
                    ),
                    option.technician_id,
                    option.first_name,
                    booked[m.assignment_id].status,
                    m.planned_start,
                    m.planned_end,
                    m.eta,
                    reason + told[m.assignment_id],
                    customer_told=bool(told[m.assignment_id]),
                ),
                occurred_at=self.clock(),
            )
            for m in option.retimed
        ]
        broken = sum(1 for text in told.values() if text)
        events.append(
            outbox_row(
                assignment_created(
                    assignment.id,
                    job,
                    option.technician_id,
                    option.first_name,
                    "offered",
                    assignment.planned_start,
                    assignment.planned_end,
                    assignment.eta,
                ),
                occurred_at=self.clock(),
            )
        )
        written = await repo.book_emergency(
            EmergencyBooking(
                technician_id=option.technician_id,
                route_version=option.route_version,
                pushed=[
                    (m.assignment_id, m.planned_start, m.planned_end, m.eta, bool(told[m.assignment_id]))
                    for m in option.retimed
                ],
                assignment=assignment,
                events=events,
                replan_day=self.local_day(option.planned_start),
                replan_reason=f"emergency at {job.address or job.site_id} fitted into {option.first_name}'s day"
                + (f"; {broken} promised arrival(s) moved beyond the tolerance, customers told" if broken else ""),
            )
        )
        if not written:
            raise _RouteMoved(f"route of {option.technician_id} changed")
        start = emergency_end
        for visit in bundle:
            end = start + timedelta(minutes=visit.duration_minutes)
            await self._ride_along(session, repo, visit, job, option, start, end)
            start = end
        if bundle:
            await repo.check_overlap_now()

    async def _ride_along(
        self,
        session: AsyncSession,
        repo: DispatchRepository,
        visit: DueVisit,
        emergency: JobRecord,
        option: Option,
        start: datetime,
        end: datetime,
    ) -> None:
        """The planned visit is done in the same stop, straight after the emergency (request_id = visit_id)."""
        vjob = await repo.get_job(visit.request_id)
        assert vjob is not None
        await repo.set_job_status(visit.request_id, "assigned", bundled_with=emergency.request_id)
        active = await repo.active_assignments_for_request(visit.request_id)
        reason = f"bundled with the emergency at the same site ({emergency.request_id})"
        if active:
            before = active[0]
            # as a dispatcher's reassignment (desk.reassign): another technician is offered it anew, the same one
            # keeps the acceptance they gave
            moved_to_another = before.technician_id != option.technician_id
            status = "offered" if moved_to_another else before.status
            await repo.move_assignment(
                before.id,
                planned_start=start,
                planned_end=end,
                eta=option.eta,
                technician_id=option.technician_id,
                status=status,
            )
            if moved_to_another:
                await repo.bump_route_version(before.technician_id)
            await announce(
                session,
                assignment_changed(
                    before,
                    option.technician_id,
                    option.first_name,
                    status,
                    start,
                    end,
                    option.eta,
                    reason,
                ),
                occurred_at=self.clock(),
            )
            return
        assignment_id = uuid.uuid4()
        await repo.book(
            NewAssignment(
                assignment_id,
                visit.request_id,
                option.technician_id,
                vjob.customer_id,
                "offered",
                start,
                end,
                option.eta,
                self.clock(),
            )
        )
        await announce(
            session,
            assignment_created(
                assignment_id,
                vjob,
                option.technician_id,
                option.first_name,
                "offered",
                start,
                end,
                option.eta,
                bundled_with=emergency.request_id,
            ),
            occurred_at=self.clock(),
        )

    async def _alert_late(
        self, session: AsyncSession, repo: DispatchRepository, job: JobRecord, option: Option, reason: str
    ) -> None:
        if job.response_due is None or not await repo.raise_alert(
            job.request_id, "placement", option.eta, reason, at=self.clock()
        ):
            return
        await add_event(
            session,
            messaging,
            SlaAtRisk(
                request_id=job.request_id,
                customer_id=job.customer_id,
                response_due=job.response_due,
                predicted_arrival=option.eta,
                reason=reason or "no technician can arrive before the deadline",
                technician_id=option.technician_id,
                best_option=option.describe(),
            ),
            occurred_at=self.clock(),
        )

    async def on_request_cancelled(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, ServiceRequestCancelled)
        repo = DispatchRepository(session)
        await repo.set_job_status(event.request_id, "cancelled")
        now = self.clock()
        for row in await repo.active_assignments_for_request(event.request_id):
            await cancel_assignment(session, row, now, "request cancelled")
            await repo.request_replan(self.local_day(row.planned_start), "a request was cancelled")
