"""Planning a day: snapshot the tables into the planner's dataclasses, solve off the event loop, persist a
new plan version and move the bookings, with started visits frozen, commitments pinned, the current
routes as warm start and a change budget. One plan at a time across days and replicas (advisory lock).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.bookings import RequestAlreadyBooked
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.db.tables import messaging
from services.dispatch.domain.calendar import Absence, Availability, absence_reason, availability, local_midnight
from services.dispatch.domain.kpis import Promise, promise_kpis
from services.dispatch.domain.lifecycle import STARTED
from services.dispatch.domain.planchanges import PlacedVisit, PlanChange, diff_plans
from services.dispatch.domain.records import (
    AssignmentRecord,
    JobRecord,
    NewAssignment,
    TechnicianOnShift,
    job_label,
)
from services.dispatch.domain.windows import Window, intersected, job_windows
from services.dispatch.planning import (
    BreakRule,
    GeoPoint,
    Pin,
    Plan,
    PlanningOptions,
    PlanningProblem,
    Priority,
    RoadFactorTravel,
    RouteAssignment,
    Shift,
    SolveStatus,
    Stop,
    Technician,
    TerritoryRule,
    TimeWindow,
    TravelTimeProvider,
    UnassignedVisit,
    Visit,
    plan_routes,
)
from services.dispatch.planning.make_room import LEFT_FOR_LESS, room_for
from services.dispatch.planning.travel import driving_time
from services.dispatch.planning.travel_cache import TravelModel, portable
from services.dispatch.settings import Settings
from services.dispatch.usecases.booking import announce, assignment_changed, assignment_created, cancel_assignment
from services.dispatch.usecases.emergency import skill_levels
from shared.clock import SystemClock
from shared.db import Database
from shared.errors import Conflict, InvalidInput, Unavailable
from shared.events.dispatch import PlannedStop, PlanPublished
from shared.messaging import add_event
from shared.metrics import observe_planner_run
from shared.timestamps import utc_z

log = logging.getLogger(__name__)
DAY_S = 86_400.0
# an assignment the technician set off for: its drive counts towards their day's driving
SET_OFF = STARTED | {"completed", "failed"}
MAX_DAYS_AHEAD = 366


# a visit that must not be let go but can't be routed is taken out and planned around; each round may find more
KEEP_ROUNDS = 3


class PlanningBusy(Conflict):
    """Another run is planning (that day or another: one plan at a time) right now: a run takes seconds, so try
    again shortly."""

    retry_after_s = 5

    @classmethod
    def planning(cls, day: date) -> PlanningBusy:
        return cls(
            f"a plan is being made by another run (one at a time, whatever the day): try {day.isoformat()} again"
        )


class StaleSnapshot(Conflict):
    """Bookings of the day changed while the planner ran: the result is thrown away and the day re-queued."""

    retry_after_s = 1


class NoPlanFound(Unavailable):
    """The planner ended without any plan (nothing found in its time, or a model it could not solve): the day's
    bookings stand as they are, and the run counts as a failure to try again after the back-off. Persisting such
    a result would take every booking off the day: at the start of a simulated day one did, and the day's 42
    visits went to the next day."""

    retry_after_s = 30


@dataclass
class Snapshot:
    day: date
    origin: datetime
    now_s: float
    problem: PlanningProblem
    technicians: dict[uuid.UUID, TechnicianOnShift]
    jobs: dict[uuid.UUID, JobRecord]
    assignments: dict[uuid.UUID, AssignmentRecord]  # by request_id
    fingerprint: dict[uuid.UUID, tuple[Any, ...]]
    relaxed: dict[str, tuple[TimeWindow, ...]]  # visit id -> windows without the promise bound
    # visits booked for a technician who works this day that a plan must not let go: a dispatcher's pinned
    # booking, or an emergency already promised (the customer was told who comes)
    keep: frozenset[str] = frozenset()
    # those of them left out of this problem and kept as booked: unchanged, whatever the plan says
    kept_as_booked: frozenset[str] = frozenset()

    def at(self, seconds: float) -> datetime:
        """The planner's seconds from the day's midnight as an instant."""
        return self.origin + timedelta(seconds=seconds)

    @functools.cached_property
    def windows(self) -> dict[str, tuple[TimeWindow, ...]]:
        return {v.id: v.windows for v in self.problem.visits}

    def eta(self, stop: Stop) -> datetime:
        """The arrival the customer is promised for a planned stop (see `promised_arrival`)."""
        return self.at(promised_arrival(stop, self.windows.get(stop.visit_id, ())))

    def unassigned_detail(self, visit: UnassignedVisit) -> str:
        """The planner's detail, and where told arrivals bound the plan, that they may be what leaves no room."""
        if visit.reason in LEFT_FOR_LESS and self.relaxed:
            hint = "or only by breaking promised arrivals (a dispatcher may release them)"
            return f"{visit.detail}; {hint}" if visit.detail else hint
        return visit.detail

    def without_promises(self, visit_ids: set[str]) -> PlanningProblem:
        """The problem with those visits' promise bounds lifted: no plan keeps them, so their retimes spend no
        change budget either (counted, they made dropping the visit the cheaper way out)."""
        visits = tuple(
            dataclasses.replace(v, windows=self.relaxed[v.id], promised=None) if v.id in visit_ids else v
            for v in self.problem.visits
        )
        return dataclasses.replace(self.problem, visits=visits)


@dataclass
class PlanDiff:
    """What a plan changes in its day: the technicians' names it speaks of, each planned stop (technician,
    request, ETA, start, end), the requests it drops with the reason, the changes in words, and its figures."""

    names: dict[uuid.UUID, str]
    planned: list[tuple[uuid.UUID, uuid.UUID, datetime, datetime, datetime]]
    dropped: dict[uuid.UUID, str]
    changes: list[PlanChange]
    kpis: dict[str, Any]


def _fingerprint(rows: list[AssignmentRecord]) -> dict[uuid.UUID, tuple[Any, ...]]:
    return {r.id: (r.technician_id, r.planned_start, r.status in STARTED, r.locked) for r in rows}


async def territory_rule(repo: DispatchRepository) -> TerritoryRule:
    """The dispatcher's crossing policy as the planner's rule."""
    policy = await repo.territory_policy()
    return TerritoryRule(crossing_cost=0.0 if policy.forbidden else policy.crossing_cost_s, forbidden=policy.forbidden)


def planner_shift(free: Availability, origin: datetime) -> Shift:
    """The planner's shift (whole seconds from the day's midnight) of what is left of a technician's day."""
    start = math.ceil((free.start - origin).total_seconds())
    end = max(start, math.floor((free.end - origin).total_seconds()))
    hard_end = max(end, math.floor((free.overtime_end - origin).total_seconds()))
    breaks: tuple[BreakRule, ...] = ()
    if free.break_minutes and free.break_earliest is not None and free.break_latest is not None:
        earliest = max(start, math.ceil((free.break_earliest - origin).total_seconds()))
        latest = math.floor((free.break_latest - origin).total_seconds())
        if earliest <= latest:
            breaks = (BreakRule(free.break_minutes * 60.0, float(earliest), float(latest)),)
    return Shift(day=0, start=float(start), end=float(end), breaks=breaks, overtime_limit=float(hard_end - end))


def promised_arrival(stop: Stop, windows: tuple[TimeWindow, ...]) -> float:
    """The technician's arrival, or, when they would wait for the window the visit starts in, its opening: the
    customer asked for that window (of several, perhaps), not to be told of a wait on the doorstep before it."""
    opening = max((w.start for w in windows if w.start <= stop.start <= w.end), default=stop.arrival)
    return max(stop.arrival, min(opening, stop.start))


def promised_eta(booking: AssignmentRecord) -> datetime:
    """The arrival first promised to the customer (rows written before it was kept: the current ETA)."""
    return booking.first_eta if booking.first_eta is not None else booking.eta


def promise_band(promised: float, tolerance: float, early_ok: bool) -> TimeWindow:
    """The starts that keep a promised arrival: within the tolerance either way (an emergency: any time earlier)."""
    return TimeWindow(0.0 if early_ok else promised - tolerance, promised + tolerance)


def keep_promise(windows: tuple[TimeWindow, ...], band: TimeWindow) -> tuple[TimeWindow, ...]:
    """The visit's windows cut to its promise band; where no window meets it any more (the promise is past or
    outside every window), the windows as they are: the planner serves it as well as it can, and tells."""
    kept = tuple(
        TimeWindow(max(w.start, band.start), min(w.end, band.end))
        for w in windows
        if max(w.start, band.start) <= min(w.end, band.end)
    )
    return kept or windows


def promises_released(reason: str, day: date, by: str) -> str:
    """A plan's reason when a dispatcher lets it retime told arrivals: the record of who did."""
    log.warning("plan of %s: promised arrivals released by %s", day, by)
    return f"{reason} (promised arrivals released by {by})"


PlannerFunction = Callable[[PlanningProblem, TravelTimeProvider, PlanningOptions], Plan]
RunPlanner = Callable[[PlannerFunction, PlanningProblem, TravelTimeProvider, PlanningOptions], Awaitable[Plan]]


async def _on_a_thread(
    planner: PlannerFunction, problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions
) -> Plan:
    return await asyncio.to_thread(planner, problem, travel, options)


class Replanner:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], datetime] = SystemClock(),
        planner: PlannerFunction = plan_routes,
        run: RunPlanner | None = None,
        travel: TravelModel | None = None,
    ) -> None:
        """``run`` calls the planner off the event loop: in worker processes of its own
        (adapters/planner_processes.py), or by default on a thread of this process."""
        self.settings = settings
        self.planner = planner
        self.run: RunPlanner = run or _on_a_thread
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.travel = travel or RoadFactorTravel(road_factor=settings.road_factor)
        self.tolerance_s = settings.eta_tolerance_minutes * 60.0
        # a dispatcher's re-plan waits for a run already making the day (up to three solver runs) rather than
        # answering 409; under the statement timeout, which would cancel the wait as an error
        limit = settings.db_statement_timeout_s - 1 if settings.db_statement_timeout_s else 60.0
        self.dispatcher_wait_s = max(0.0, min(3 * settings.planner_time_limit_s + 5, limit))

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    async def solve(self, problem: PlanningProblem, options: PlanningOptions) -> Plan:
        """The planner on `problem`, with a travel model it can take to a worker process (a road engine's matrix
        over the problem's points, asked for here, off the event loop)."""
        travel = await asyncio.to_thread(portable, self.travel, problem)
        return await self.run(self.planner, problem, travel, options)

    @observe_planner_run
    async def replan(
        self,
        db: Database,
        day: date,
        reasons: list[str],
        up_to_request: int | None = None,
        wait_s: float = 0.0,
        promises_released_by: str | None = None,
    ) -> dict[str, Any]:
        """Plans `day` now; raises PlanningBusy if another run holds the day (after waiting `wait_s` for it),
        StaleSnapshot if it raced. `promises_released_by`: the dispatcher who lets this plan retime told ETAs."""
        self.check_day(day)
        reason = "; ".join(reasons) or "re-plan requested"
        release = promises_released_by is not None
        if promises_released_by is not None:
            reason = promises_released(reason, day, promises_released_by)
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            locked = await repo.wait_plan_lock(wait_s) if wait_s > 0 else await repo.try_plan_lock()
            if not locked:
                raise PlanningBusy.planning(day)
            snapshot, plan, _ = await self.plan_day(repo, day, release_promises=release)
            try:
                result = await self.persist(session, repo, snapshot, plan, reason)
            except IntegrityError as exc:
                raise StaleSnapshot(f"a booking collided: {exc.orig}") from exc
            if up_to_request is not None:
                await repo.clear_replans(day, up_to_request)
            await repo.clear_plan_failure(day)
        return result

    def check_day(self, day: date) -> None:
        if day < self.today():
            raise InvalidInput("day", "is in the past")
        if day > self.today() + timedelta(days=MAX_DAYS_AHEAD):
            raise InvalidInput("day", f"is more than {MAX_DAYS_AHEAD} days ahead")

    async def plan_day(
        self, repo: DispatchRepository, day: date, change_budget: int | None = None, release_promises: bool = False
    ) -> tuple[Snapshot, Plan, frozenset[str]]:
        """The day's plan (the caller holds the day's lock), and the bookings kept outside it as booked.
        ``change_budget``: visits that may leave or be retimed beyond their promise on each technician's current
        route (default: the setting's); ``release_promises``: told ETAs bind no more (a dispatcher's override)."""
        snapshot, plan = await self._plan(repo, day, change_budget=change_budget, release_promises=release_promises)
        kept: frozenset[str] = frozenset()
        for _ in range(KEEP_ROUNDS):
            dropped = {u.visit_id for u in plan.unassigned} & snapshot.keep
            if not dropped:
                break
            # the planner's model can't route them (a far move the dispatcher chose, a day running over): they
            # stay as booked, as fixed blocks of their technicians' days, and the rest is planned around them
            kept |= dropped
            log.info("re-plan of %s: %s kept as booked, outside the plan", day, sorted(kept))
            snapshot, plan = await self._plan(repo, day, kept, change_budget, release_promises)
        if plan.status in (SolveStatus.NO_SOLUTION, SolveStatus.INVALID) and snapshot.problem.visits:
            raise NoPlanFound(
                f"the planner found no plan for {day.isoformat()} within {self.settings.planner_time_limit_s:g} s"
                f" (status {plan.status.value}); the day's bookings stand as they are"
            )
        return snapshot, plan, kept

    async def _plan(
        self,
        repo: DispatchRepository,
        day: date,
        kept_as_booked: frozenset[str] = frozenset(),
        change_budget: int | None = None,
        release_promises: bool = False,
    ) -> tuple[Snapshot, Plan]:
        """A plan of the day; promises no plan can keep are lifted (better late, and told, than not served)."""
        snapshot = await self.snapshot(repo, day, kept_as_booked, change_budget, release_promises)
        options = PlanningOptions(time_limit=self.settings.planner_time_limit_s)
        problem = snapshot.problem
        plan = await self.solve(problem, options)
        broken = {u.visit_id for u in plan.unassigned} & set(snapshot.relaxed)
        if broken:
            log.warning("re-plan of %s: promised ETAs of %s can't be kept", day, sorted(broken))
            problem = snapshot.without_promises(broken)
            plan = await self.solve(problem, options)
        return snapshot, await self._room_for_emergencies(snapshot, problem, plan, options)

    async def _room_for_emergencies(
        self, snapshot: Snapshot, problem: PlanningProblem, plan: Plan, options: PlanningOptions
    ) -> Plan:
        """Emergencies nobody is booked for that the plan left out although they fit: once more from a start that
        serves them and lets lower-value visits go (planning/make_room.py); kept if less value is left out."""
        waiting = {
            u.visit_id
            for u in plan.unassigned
            if u.reason in LEFT_FOR_LESS and snapshot.jobs[uuid.UUID(u.visit_id)].kind == "emergency"
        }
        if not waiting:
            return plan
        pinned = {p.visit_id for p in problem.pins}
        droppable = {
            v.id for v in problem.visits if v.id not in pinned and snapshot.jobs[uuid.UUID(v.id)].kind != "emergency"
        }
        roomy = room_for(problem, plan, waiting, droppable, self.travel)
        if roomy is None:
            return plan
        second = await self.solve(roomy, options)
        if (
            second.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
            and second.kpis.unassigned_priority_weight < plan.kpis.unassigned_priority_weight
        ):
            log.info("re-plan of %s: room made for %s", snapshot.day, sorted(waiting))
            return second
        return plan

    async def snapshot(
        self,
        repo: DispatchRepository,
        day: date,
        kept_as_booked: frozenset[str] = frozenset(),
        change_budget: int | None = None,
        release_promises: bool = False,
    ) -> Snapshot:
        """The day as the planner's problem. `kept_as_booked`: visits left out of it, their technicians' time
        from the drive there to the end of the visit blocked. Each booking's told ETA binds its start to within
        the tolerance (lifted where no plan can keep it), unless `release_promises`; either way a start beyond
        it spends the change budget."""
        origin = local_midnight(day, self.tz)
        end = origin + timedelta(days=1)
        now = self.clock()
        now_s = float(max(0, math.ceil((now - origin).total_seconds()))) if day == self.today() else 0.0

        def secs(moment: datetime) -> float:
            return (moment - origin).total_seconds()

        jobs = {j.request_id: j for j in await repo.plannable_jobs(origin, end)}
        booked = await repo.active_assignments_between(origin, end)
        assignments = {a.request_id: a for a in booked}

        def open_span(job: JobRecord) -> tuple[float, float]:
            """When, in seconds from the day's midnight, the job may start today: its window, from now on."""
            open_from = max(now_s, secs(job.window_start) if job.window_start else 0.0)
            open_to = min(DAY_S, secs(job.window_end) if job.window_end else DAY_S)
            return open_from, open_to

        def open_windows(job: JobRecord) -> tuple[TimeWindow, ...]:
            """Each of the job's windows left today, from now on, in seconds from the day's midnight (none: closed
            all day); never the span between two of them."""
            windows = job_windows(job.windows, job.window_start, job.window_end)
            if windows is None:
                return (TimeWindow(now_s, DAY_S),)
            today = Window(origin + timedelta(seconds=now_s), origin + timedelta(days=1))
            return tuple(TimeWindow(secs(w.start), secs(w.end)) for w in intersected(windows, (today,)))

        # work booked on this day outside its windows (a visit an emergency took along ahead of its window, one
        # booked past its window's end): no plan can place it today, so it stays as booked and its time is blocked;
        # left out and unblocked, the planner put other work on its slot and every re-plan of the day collided
        outside = {
            str(a.request_id)
            for a in booked
            if a.status not in STARTED
            and a.request_id in jobs
            and jobs[a.request_id].kind != "emergency"
            and not open_windows(jobs[a.request_id])
        }
        kept_as_booked = kept_as_booked | frozenset(outside)
        # someone en route or on site starts the rest of the day at that job: no travel to it left to plan
        started_at: dict[uuid.UUID, GeoPoint] = {}
        for a in sorted(booked, key=lambda a: a.planned_start, reverse=True):
            if a.status in STARTED and a.request_id in jobs:
                started_at[a.technician_id] = GeoPoint(jobs[a.request_id].lat, jobs[a.request_id].lon)
        shift_rows = await repo.shifts_of_day(day)
        absences = await repo.absences_between(
            sorted({r.id for r in shift_rows}), origin - timedelta(days=1), end + timedelta(days=1)
        )
        homes = {r.id: (r.home_lat, r.home_lon) for r in shift_rows}
        for a in booked:
            if str(a.request_id) in kept_as_booked and a.request_id in jobs:
                site, home = jobs[a.request_id], homes.get(a.technician_id)
                lead = driving_time(self.travel, home, (site.lat, site.lon)) if home else timedelta(0)
                block = Absence(a.planned_start - lead, a.planned_end, "booked")
                absences.setdefault(a.technician_id, []).append(block)
        technicians: dict[uuid.UUID, TechnicianOnShift] = {}
        planner_techs = []
        rates = self.settings.money_rates()
        # a daily driving limit is for the whole day: what was driven before now is off what the plan may use
        limited = {r.id: homes[r.id] for r in shift_rows if r.max_travel_minutes is not None}
        driven = await self._driven_today(repo, origin, limited) if day == self.today() and limited else {}
        for r in shift_rows:
            free = availability(
                r.starts_at,
                r.ends_at,
                now if day == self.today() else origin,
                timedelta(minutes=r.overtime_minutes),
                absences.get(r.id, []),
                break_minutes=r.break_minutes or 0,
                break_earliest=r.break_earliest,
                break_latest=r.break_latest,
            )
            if free is None:
                continue
            live = now_s > 0 and r.position_at is not None
            here = GeoPoint(r.lat, r.lon) if live else GeoPoint(r.home_lat, r.home_lon)
            here = started_at.get(r.id, here)
            technicians[r.id] = r
            planner_techs.append(
                Technician(
                    id=str(r.id),
                    home=here,
                    end_location=GeoPoint(r.home_lat, r.home_lon),
                    shifts=(
                        dataclasses.replace(
                            planner_shift(free, origin),
                            max_travel=None
                            if r.max_travel_minutes is None
                            else max(0.0, r.max_travel_minutes * 60.0 - driven.get(r.id, 0.0)),
                            overtime_cost=rates.per_second_rate(r.overtime_cost_per_hour),
                        ),
                    ),
                    skills=dict(r.skills),
                    territories=frozenset(str(t) for t in r.territory_ids),
                )
            )

        visits, pins = [], []
        pinned_order: dict[uuid.UUID, int] = {}
        keep: set[str] = set()
        for a in sorted(booked, key=lambda a: (a.status not in STARTED, a.planned_start)):
            job = jobs.get(a.request_id)
            if job is None or a.technician_id not in technicians or str(a.request_id) in kept_as_booked:
                continue
            if a.status not in STARTED and (a.locked or job.kind == "emergency"):
                keep.add(str(a.request_id))
            started = a.status in STARTED
            if not (started or a.locked or job.kind == "emergency" or job.bundled_with is not None):
                continue
            position = pinned_order.get(a.technician_id, 0)
            pinned_order[a.technician_id] = position + 1
            pins.append(
                Pin(
                    visit_id=str(a.request_id),
                    technician_id=str(a.technician_id),
                    day=0,
                    position=position,
                    # a pinned time still ahead is kept; one started or already passed keeps only its technician
                    start_time=secs(a.planned_start)
                    if a.locked and not started and secs(a.planned_start) >= now_s
                    else None,
                    frozen=started,
                )
            )
        pinned = {p.visit_id for p in pins}
        relaxed: dict[str, tuple[TimeWindow, ...]] = {}
        for request_id, job in jobs.items():
            if str(request_id) in kept_as_booked:
                continue
            booking = assignments.get(request_id)
            if booking is not None and booking.status in STARTED and str(request_id) not in pinned:
                continue  # started by someone who is off now: left as it is
            duration = job.duration_minutes * 60.0
            sla_deadline = secs(job.response_due) if job.response_due else None
            promise: TimeWindow | None = None
            if booking is not None and booking.status in STARTED:
                start = max(now_s, secs(booking.planned_start))
                remaining = max(60.0, secs(booking.planned_end) - start)
                if booking.overran_at is not None:  # already running late: it gets another grace period from now
                    remaining = max(remaining, self.settings.overrun_grace_minutes * 60.0)
                windows: tuple[TimeWindow, ...] = (TimeWindow(start, start),)
                duration = remaining
            else:
                open_from, open_to = open_span(job)
                if job.kind == "emergency" and job.response_due is not None and booking is None:
                    open_to = max(open_to, open_from)
                if job.kind == "emergency" and booking is not None:
                    # booked: served today whatever (the SLA's soft bound keeps it early)
                    open_to = max(DAY_S, open_from)
                if open_to < open_from:
                    continue  # its window is over for this day
                windows = (TimeWindow(open_from, open_to),) if job.kind == "emergency" else open_windows(job)
                if not windows:
                    continue  # none of its windows is open any more this day
                if booking is not None and not booking.locked:
                    # the customer was told an arrival: kept within the tolerance where a plan can (if this one
                    # can't, the promise is relaxed and the customer told), and a retime beyond it is a change;
                    # a pinned booking keeps the dispatcher's time instead (the desk may have told another)
                    promise = promise_band(secs(promised_eta(booking)), self.tolerance_s, job.kind == "emergency")
                    kept = windows if release_promises else keep_promise(windows, promise)
                    if kept != windows:
                        relaxed[str(request_id)] = windows
                        windows = kept
                if job.kind != "emergency" and sla_deadline is not None:
                    # due before the first window it can have today (the customer's earlier window is over): the
                    # lateness up to that window is no one's choice, and priced in it would make dropping cheaper
                    sla_deadline = max(sla_deadline, windows[0].start)
            visits.append(
                Visit(
                    id=str(request_id),
                    location=GeoPoint(job.lat, job.lon),
                    service_duration=duration,
                    windows=windows,
                    required_skills=skill_levels(job.required_skills),
                    priority=Priority[job.priority],
                    sla_deadline=sla_deadline,
                    sla_cost=rates.sla_cost(job.priority, job.late_penalty_per_hour),
                    drop_penalty=rates.drop_penalty(job.priority, job.visit_value),
                    territory=str(job.territory_id) if job.territory_id else None,
                    promised=promise,
                )
            )
        in_problem = {v.id for v in visits}
        previous = []
        for technician_id in technicians:
            route = tuple(
                str(a.request_id)
                for a in booked
                if a.technician_id == technician_id and str(a.request_id) in in_problem
            )
            if route:
                previous.append(RouteAssignment(str(technician_id), 0, route))
        problem = PlanningProblem(
            technicians=tuple(planner_techs),
            visits=tuple(visits),
            pins=tuple(p for p in pins if p.visit_id in in_problem),
            previous_routes=tuple(previous),
            max_moves_per_route=(self.settings.change_budget if change_budget is None else change_budget)
            if previous
            else None,
            territory_rule=await territory_rule(repo),
        )
        return Snapshot(
            day,
            origin,
            now_s,
            problem,
            technicians,
            jobs,
            assignments,
            _fingerprint(booked),
            relaxed,
            frozenset(keep),
            kept_as_booked,
        )

    async def _driven_today(
        self, repo: DispatchRepository, origin: datetime, homes: dict[uuid.UUID, tuple[float, float]]
    ) -> dict[uuid.UUID, float]:
        """Seconds each technician has driven today, as the travel model reckons it: from home to every site they
        set off for (en route, on site, done or failed there), in order."""
        sites: dict[uuid.UUID, list[GeoPoint]] = {}
        for a in await repo.assignments_between(origin, origin + timedelta(days=1), list(homes)):
            if a.status in SET_OFF and a.site_lat is not None and a.site_lon is not None:
                sites.setdefault(a.technician_id, []).append(GeoPoint(a.site_lat, a.site_lon))
        driven = {}
        for technician_id, visited in sites.items():
            points = [GeoPoint(*homes[technician_id]), *visited]
            legs = self.travel.durations(points, points)
            driven[technician_id] = float(sum(legs[k, k + 1] for k in range(len(visited))))
        return driven

    async def diff(self, repo: DispatchRepository, snap: Snapshot, plan: Plan, reason: str) -> PlanDiff:
        """What ``plan`` would change in the day ``snap`` was taken of, in words, and its figures (no writes)."""
        end, at = snap.origin + timedelta(days=1), snap.at
        names = {tid: t.first_name for tid, t in snap.technicians.items()}
        off_duty = {a.technician_id for a in snap.assignments.values()} - set(snap.technicians)
        for row in await repo.list_technicians(sorted(off_duty)):
            names[row.id] = row.first_name
        absences = await repo.absences_between(sorted(off_duty), snap.origin, end)
        why = {tid: absence_reason(names[tid], absences[tid][0].kind if tid in absences else "off") for tid in off_duty}

        before = {
            rid: PlacedVisit(
                rid,
                job_label(snap.jobs[rid]),
                a.technician_id,
                names.get(a.technician_id, "?"),
                a.planned_start,
                promised_eta(a),
            )
            for rid, a in snap.assignments.items()
            if rid in snap.jobs and a.status not in STARTED and str(rid) not in snap.kept_as_booked
        }
        after: dict[uuid.UUID, PlacedVisit] = {}
        planned: list[tuple[uuid.UUID, uuid.UUID, datetime, datetime, datetime]] = []
        for route in plan.routes:
            tid = uuid.UUID(route.technician_id)
            for stop in route.stops:
                rid = uuid.UUID(stop.visit_id)
                planned.append((tid, rid, snap.eta(stop), at(stop.start), at(stop.departure)))
                booking = snap.assignments.get(rid)
                if booking is None or booking.status not in STARTED:
                    label = job_label(snap.jobs[rid])
                    after[rid] = PlacedVisit(rid, label, tid, names[tid], at(stop.start), snap.eta(stop))
        details = {u.visit_id: snap.unassigned_detail(u) for u in plan.unassigned}
        dropped = {
            uuid.UUID(u.visit_id): u.reason.value.replace("_", " ") + (f" ({d})" if (d := details[u.visit_id]) else "")
            for u in plan.unassigned
        }
        changes = diff_plans(
            before,
            after,
            reasons_by_technician=why,
            reason=reason,
            dropped_reasons=dropped,
            tz=self.tz,
            retime_threshold=timedelta(minutes=self.settings.retime_threshold_minutes),
            promise_tolerance=timedelta(seconds=self.tolerance_s),
        )
        rates = self.settings.money_rates()
        kpis = {
            "travel_minutes": round(plan.kpis.travel_time / 60, 1),
            # bookings kept outside the plan stay assigned: counted, and said apart
            "assigned": plan.kpis.assigned + len(snap.kept_as_booked),
            "kept_as_booked": len(snap.kept_as_booked),
            "unassigned": plan.kpis.unassigned,
            "sla_misses": plan.kpis.sla_misses,
            "overtime_minutes": round(plan.kpis.overtime / 60, 1),
            # the planner's objective and what it left out, in money (travel, lateness, drops and overtime priced)
            "cost": round(rates.in_money(plan.kpis.objective), 2),
            "unassigned_value": round(rates.in_money(plan.kpis.unassigned_priority_weight), 2),
            "wall_time_s": round(plan.kpis.wall_time, 3),
            "promises_broken": sum(c.promise_broken for c in changes),
            **promise_kpis(self._promises(snap, planned), timedelta(seconds=self.tolerance_s)),
        }
        return PlanDiff(names, planned, dropped, changes, kpis)

    async def persist(
        self, session: AsyncSession, repo: DispatchRepository, snap: Snapshot, plan: Plan, reason: str
    ) -> dict[str, Any]:
        end = snap.origin + timedelta(days=1)
        current = await repo.active_assignments_between(snap.origin, end, for_update=True)
        if _fingerprint(current) != snap.fingerprint:
            raise StaleSnapshot(f"bookings of {snap.day} changed during planning")
        await repo.defer_overlap_check()
        d = await self.diff(repo, snap, plan, reason)
        names, planned, dropped, changes, kpis = d.names, d.planned, d.dropped, d.changes, d.kpis
        at = snap.at
        change_of = {c.request_id: c for c in changes}
        version = await repo.add_plan(
            {
                "id": (plan_id := uuid.uuid4()),
                "day": snap.day,
                "created_at": self.clock(),
                "reason": reason,
                "status": plan.status.value,
                "routes": self._routes_json(plan, snap, names, at),
                "unassigned": unassigned_json(plan, snap),
                "changes": [change_json(c) for c in changes],
                "kpis": kpis,
            }
        )
        touched: set[uuid.UUID] = set()
        stops_of: dict[uuid.UUID, list[PlannedStop]] = {}
        for tid, rid, eta, start, finish in planned:
            a, job = snap.assignments.get(rid), snap.jobs[rid]
            change = change_of.get(rid)
            text = change.text if change else reason
            if a is not None and a.status in STARTED:
                stops_of.setdefault(tid, []).append(
                    PlannedStop(
                        request_id=rid,
                        assignment_id=a.id,
                        eta=a.eta,
                        planned_start=a.planned_start,
                        planned_end=a.planned_end,
                    )
                )
                continue
            if a is None:
                assignment_id = uuid.uuid4()
                try:
                    await repo.book(
                        NewAssignment(
                            assignment_id, rid, tid, job.customer_id, "offered", start, finish, eta, self.clock()
                        )
                    )
                except RequestAlreadyBooked:
                    # a visit whose window spans days, booked meanwhile by another day's re-plan (each day has its
                    # own planner lock): that booking stands, this day's plan goes on without it
                    log.info("re-plan of %s: %s was booked meanwhile by another plan; left to it", snap.day, rid)
                    continue
                await repo.set_job_status(rid, "assigned")
                await announce(
                    session,
                    assignment_created(
                        assignment_id,
                        job,
                        tid,
                        names[tid],
                        "offered",
                        start,
                        finish,
                        eta,
                        plan_version=version,
                    ),
                    occurred_at=self.clock(),
                )
                touched.add(tid)
            else:
                assignment_id = a.id
                moved = a.technician_id != tid
                # the promise broken (no plan could keep it, or a dispatcher released it): the customer is told the
                # new arrival, and that is the promise the next re-plans keep
                told = change is not None and change.promise_broken
                if moved or abs(a.planned_start - start) >= timedelta(minutes=1) or a.eta != eta:
                    await repo.move_assignment(
                        a.id,
                        planned_start=start,
                        planned_end=finish,
                        eta=eta,
                        technician_id=tid if moved else None,
                        status="offered" if moved else None,
                        first_eta=eta if told else None,
                    )
                    touched.update({tid, a.technician_id})
                    if told:  # the record of who was told: the customer
                        text = f"{text}; the customer is told the new arrival {eta.astimezone(self.tz):%H:%M}"
                    if moved or change is not None or abs(eta - a.eta) > timedelta(seconds=self.tolerance_s):
                        await announce(
                            session,
                            assignment_changed(
                                a,
                                tid,
                                names[tid],
                                "offered" if moved else a.status,
                                start,
                                finish,
                                eta,
                                text,
                                plan_version=version,
                                customer_told=told,
                            ),
                            occurred_at=self.clock(),
                        )
            stops_of.setdefault(tid, []).append(
                PlannedStop(
                    request_id=rid, assignment_id=assignment_id, eta=eta, planned_start=start, planned_end=finish
                )
            )
        now = self.clock()
        for rid, detail in dropped.items():
            a = snap.assignments.get(rid)
            if a is not None and a.status in STARTED:
                continue  # being driven to or worked on: it stays booked, and so does its job
            if a is not None:
                await cancel_assignment(session, a, now, change_of[rid].text if rid in change_of else detail)
                touched.add(a.technician_id)
            if snap.jobs[rid].status != "unplaceable":
                await repo.set_job_status(rid, "open", detail)
        await repo.bump_route_versions(sorted(touched))
        await repo.check_overlap_now()
        for tid in sorted(
            touched
            | {c.to_technician_id for c in changes if c.to_technician_id}
            | {c.from_technician_id for c in changes if c.from_technician_id}
        ):
            await add_event(
                session,
                messaging,
                PlanPublished(
                    plan_id=plan_id,
                    day=snap.day.isoformat(),
                    version=version,
                    technician_id=tid,
                    stops=stops_of.get(tid, []),
                    reason=reason,
                    changes=[c.text for c in changes if tid in (c.from_technician_id, c.to_technician_id)],
                ),
                occurred_at=self.clock(),
            )
        return {
            "plan_id": plan_id,
            "day": snap.day,
            "version": version,
            "reason": reason,
            "status": plan.status.value,
            "changes": [change_json(c) for c in changes],
            "unassigned": len(plan.unassigned),
            "assigned": kpis["assigned"],
            "kpis": kpis,
        }

    @staticmethod
    def _promises(
        snap: Snapshot, planned: list[tuple[uuid.UUID, uuid.UUID, datetime, datetime, datetime]]
    ) -> list[Promise]:
        """Each planned stop's promise: a new booking is promised its planned ETA; a started one counts its
        actual arrival (on site) or its current ETA (en route)."""
        promises = []
        for _, rid, eta, _, _ in planned:
            a, job = snap.assignments.get(rid), snap.jobs[rid]
            arrival = eta
            if a is not None and a.status in STARTED:
                arrival = (a.last_transition_at if a.status == "on_site" else None) or a.eta
            first = promised_eta(a) if a is not None else eta
            emergency = job.kind == "emergency"
            # an arrival flagged implausible (on site seconds after en route from far away) is no response time
            counted = emergency and not (a is not None and a.suspect)
            promises.append(Promise(job.created_at if counted else None, first, arrival, emergency))
        return promises

    def _routes_json(
        self, plan: Plan, snap: Snapshot, names: dict[uuid.UUID, str], at: Callable[[float], datetime]
    ) -> list[dict[str, Any]]:
        return [
            {
                "technician_id": r.technician_id,
                "technician_name": names[uuid.UUID(r.technician_id)],
                "travel_minutes": round(r.travel_time / 60, 1),
                "stops": [
                    {
                        "request_id": s.visit_id,
                        "label": job_label(snap.jobs[uuid.UUID(s.visit_id)]),
                        "eta": utc_z(snap.eta(s)),
                        "start": utc_z(at(s.start)),
                        "end": utc_z(at(s.departure)),
                    }
                    for s in r.stops
                ],
                "breaks": [{"start": utc_z(at(b.start)), "end": utc_z(at(b.end))} for b in r.breaks],
            }
            for r in plan.routes
        ]


def unassigned_json(plan: Plan, snap: Snapshot) -> list[dict[str, Any]]:
    """What the plan leaves unassigned, each with the planner's reason and the job's label."""
    return [
        {
            "request_id": u.visit_id,
            "reason": u.reason.value,
            "detail": snap.unassigned_detail(u),
            "label": job_label(snap.jobs[uuid.UUID(u.visit_id)]),
        }
        for u in plan.unassigned
    ]


def change_json(c: PlanChange) -> dict[str, Any]:
    return {
        "request_id": str(c.request_id),
        "kind": c.kind,
        "text": c.text,
        "from_technician_id": str(c.from_technician_id) if c.from_technician_id else None,
        "to_technician_id": str(c.to_technician_id) if c.to_technician_id else None,
        "from_start": utc_z(c.from_start) if c.from_start else None,
        "to_start": utc_z(c.to_start) if c.to_start else None,
        "promise_broken": c.promise_broken,
        "told": [
            {"audience": n.audience, "text": n.text, "technician_id": str(n.technician_id) if n.technician_id else None}
            for n in c.told
        ],
    }


async def run_queued_replans(db: Database, replanner: Replanner) -> int:
    """Plans every day with queued requests once (skipping days another replica holds); returns runs made.

    A day that fails to plan is reported (a plan_failures row the dispatcher sees, an error log line) and
    tried again after the back-off; it never keeps the other days from being planned.
    """
    async with db.transaction() as session:
        repo = DispatchRepository(session)
        pending = await repo.pending_replans()
        failures = {f.day: f for f in await repo.plan_failures()}
    runs = 0
    today = replanner.today()
    now = replanner.clock()
    backoff = timedelta(seconds=replanner.settings.replan_failure_backoff_s)
    for day, (up_to, reasons) in sorted(pending.items()):
        if day < today:
            async with db.transaction() as session:
                await DispatchRepository(session).clear_replans(day, up_to)
                await DispatchRepository(session).clear_plan_failure(day)
            continue
        if day in failures and now - failures[day].failed_at < backoff:
            continue
        try:
            await replanner.replan(db, day, reasons, up_to)
            runs += 1
        except (PlanningBusy, StaleSnapshot) as exc:
            log.info("re-plan of %s deferred: %s", day, exc)
        except Exception as exc:  # one day's failure must not stop the others
            reason = f"{type(exc).__name__}: {exc}"[:500]
            async with db.transaction() as session:
                attempts = await DispatchRepository(session).record_plan_failure(day, now, reason)
            log.error("re-plan of %s failed (%d in a row): %s", day, attempts, reason, exc_info=exc)
    return runs
