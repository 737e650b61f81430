"""The nearest-qualified-technician baseline: what a competent dispatcher does without an optimiser.

Selected by the dispatch setting ``policy = "nearest"`` so a simulated day can be played twice through
the same services and compared.

Day plan (``plan_nearest``, the same signature as ``plan_routes``): jobs are taken earliest deadline
first (the window's end or the SLA deadline), priority breaking ties; each goes to the end of the day of
the qualified technician nearest to where that technician will then be, among those who can still make
the window, and preferably its SLA, within their shift plus the allowed overtime, coming home in time.
The lunch break is taken before a job that would otherwise run past the break's latest start. Pinned
(started or committed) visits stay with their technician, first. No route is ever re-ordered.

Emergencies (``NearestQualified``, a ``PlacementRule``): candidates nearest first; the first one whose
day can take the job in time gets it (where in that day: the wrapped rule's feasibility check); when
nobody can make the SLA the nearest one's late option is offered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from services.dispatch.domain.placement import Candidate, Decision, Job, Option, PlacementRule

from .model import (
    BreakRule,
    Plan,
    PlanKpis,
    PlanningOptions,
    PlanningProblem,
    Route,
    ScheduledBreak,
    Shift,
    SolveStatus,
    Stop,
    Technician,
    UnassignedReason,
    UnassignedVisit,
    Visit,
)
from .travel import TravelTimeProvider

__all__ = ["NearestQualified", "plan_nearest"]

INF = math.inf


@dataclass
class _Day:
    """One technician-day being filled from the start of the shift onwards."""

    tech: Technician
    tech_index: int
    shift: Shift
    at: int  # matrix index of where the technician is
    free_at: float  # when they can set off
    pending_break: BreakRule | None
    stops: list[Stop] = field(default_factory=list)
    breaks: list[ScheduledBreak] = field(default_factory=list)
    travel: float = 0.0

    @property
    def hard_end(self) -> float:
        return self.shift.end + self.shift.overtime_limit


@dataclass(frozen=True)
class _Try:
    travel: float
    arrival: float
    start: float
    departure: float
    break_at: float | None  # the break goes before the trip, starting here
    meets_sla: bool


def _qualified(tech: Technician, visit: Visit) -> bool:
    return all(tech.skills.get(skill, 0) >= level for skill, level in visit.required_skills.items())


def _on_day(visit: Visit, day: int) -> bool:
    return (visit.earliest_day is None or day >= visit.earliest_day) and (
        visit.latest_day is None or day <= visit.latest_day
    )


def _deadline(visit: Visit) -> float:
    window_end = max((w.end for w in visit.windows), default=INF)
    return min(window_end, visit.sla_deadline if visit.sla_deadline is not None else INF)


def _try(day: _Day, visit_index: int, visit: Visit, durations: np.ndarray, fixed_start: float | None) -> _Try | None:
    leg = float(durations[day.at, visit_index])
    depart = day.free_at
    break_at = None
    rule = day.pending_break
    if rule is not None:
        # without the break first, would this job still be running when the break must have started?
        if depart + leg + visit.service_duration > rule.latest_start:
            break_at = max(depart, rule.earliest_start)
            if break_at > rule.latest_start:
                return None
            depart = break_at + rule.duration
    arrival = depart + leg
    start = None
    if fixed_start is not None:
        start = max(arrival, fixed_start)
    elif not visit.windows:
        start = max(arrival, day.shift.start)
    else:
        for window in sorted(visit.windows, key=lambda w: w.start):
            if arrival <= window.end:
                start = max(arrival, window.start)
                break
    if start is None:
        return None
    departure = start + visit.service_duration
    home = float(durations[visit_index, day.tech_index])
    if fixed_start is None and departure + home > day.hard_end:
        return None
    meets = visit.sla_deadline is None or arrival <= visit.sla_deadline
    return _Try(leg, arrival, start, departure, break_at, meets)


def _take(day: _Day, visit: Visit, visit_index: int, chosen: _Try) -> None:
    if chosen.break_at is not None and day.pending_break is not None:
        day.breaks.append(ScheduledBreak(chosen.break_at, chosen.break_at + day.pending_break.duration))
        day.pending_break = None
    wait = max(0.0, chosen.start - chosen.arrival)
    day.stops.append(Stop(visit.id, chosen.arrival, chosen.start, chosen.departure, chosen.travel, wait))
    day.travel += chosen.travel
    day.at = visit_index
    day.free_at = chosen.departure


def plan_nearest(problem: PlanningProblem, travel: TravelTimeProvider, options: PlanningOptions) -> Plan:
    """Plan the problem's days the way a dispatcher without an optimiser would (see the module's doc)."""
    started = time.perf_counter()
    techs = problem.technicians
    visits = problem.visits
    points = [t.home for t in techs] + [v.location for v in visits]
    durations = (
        np.asarray(travel.durations(points, points), dtype=np.float64) if points else np.zeros((0, 0), dtype=float)
    )
    days: list[_Day] = []
    for ti, tech in enumerate(techs):
        for shift in tech.shifts:
            first_break = shift.breaks[0] if shift.breaks else None
            days.append(_Day(tech, ti, shift, ti, shift.start, first_break))
    visit_at = {v.id: len(techs) + i for i, v in enumerate(visits)}
    by_id = {v.id: v for v in visits}
    placed: set[str] = set()
    unassigned: list[UnassignedVisit] = []

    # pinned (started or committed) visits stay with their technician, in their order
    for pin in sorted(problem.pins, key=lambda p: (not p.frozen, p.technician_id, p.position or 0)):
        visit = by_id.get(pin.visit_id)
        day = next((d for d in days if d.tech.id == pin.technician_id and d.shift.day == pin.day), None)
        if visit is None or day is None or visit.id in placed:
            continue
        tried = _try(day, visit_at[visit.id], visit, durations, pin.start_time)
        if tried is None:
            unassigned.append(UnassignedVisit(visit.id, visit.priority, UnassignedReason.PINNED_INFEASIBLE))
        else:
            _take(day, visit, visit_at[visit.id], tried)
        placed.add(visit.id)

    waiting = sorted((v for v in visits if v.id not in placed), key=lambda v: (_deadline(v), v.priority, v.id))
    for visit in waiting:
        index = visit_at[visit.id]
        able = [d for d in days if _qualified(d.tech, visit)]
        if not able:
            unassigned.append(UnassignedVisit(visit.id, visit.priority, UnassignedReason.NO_SKILLED_TECHNICIAN))
            continue
        on_day = [d for d in able if _on_day(visit, d.shift.day)]
        if not on_day:
            unassigned.append(UnassignedVisit(visit.id, visit.priority, UnassignedReason.OUTSIDE_DAY_RANGE))
            continue
        options_ = [(d, t) for d in on_day if (t := _try(d, index, visit, durations, None)) is not None]
        if not options_:
            unassigned.append(UnassignedVisit(visit.id, visit.priority, UnassignedReason.NO_TIME_LEFT))
            continue
        in_time = [(d, t) for d, t in options_ if t.meets_sla] or options_
        day, chosen = min(in_time, key=lambda dt: (dt[1].travel, dt[1].arrival, dt[0].tech.id))
        _take(day, visit, index, chosen)

    routes: list[Route] = []
    overtime_total = 0.0
    sla_misses = 0
    for day in days:
        if not day.stops:
            continue
        back = float(durations[day.at, day.tech_index])
        if day.pending_break is not None:  # a break never needed before a job is still taken
            rule = day.pending_break
            start = max(day.free_at, rule.earliest_start)
            day.breaks.append(ScheduledBreak(start, start + rule.duration))
        end = max(day.free_at, day.breaks[-1].end if day.breaks else day.free_at) + back
        overtime = max(0.0, end - day.shift.end)
        overtime_total += overtime
        first = day.stops[0]
        routes.append(
            Route(
                technician_id=day.tech.id,
                day=day.shift.day,
                start_time=first.arrival - first.travel_from_previous,
                end_time=end,
                stops=tuple(day.stops),
                breaks=tuple(day.breaks),
                return_travel=back,
                travel_time=day.travel + back,
                overtime=overtime,
            )
        )
        sla_misses += sum(1 for s in day.stops if (d := by_id[s.visit_id].sla_deadline) is not None and s.arrival > d)
    travel_total = sum(r.travel_time for r in routes)
    penalty = sum(options.drop_penalty_of(by_id[u.visit_id]) for u in unassigned)
    kpis = PlanKpis(
        travel_time=travel_total,
        assigned=sum(len(r.stops) for r in routes),
        unassigned=len(unassigned),
        unassigned_priority_weight=penalty,
        overtime=overtime_total,
        sla_misses=sla_misses,
        objective=travel_total + penalty + options.overtime_cost * overtime_total,
        wall_time=time.perf_counter() - started,
    )
    return Plan(SolveStatus.FEASIBLE, tuple(routes), tuple(unassigned), kpis)


@dataclass(frozen=True)
class NearestQualified:
    """An emergency goes to the nearest candidate who can still make its SLA (else the nearest's late option)."""

    inner: PlacementRule  # says whether, and where in their day, one candidate can take the job

    def decide(self, job: Job, candidates: Sequence[Candidate], now: datetime) -> Decision:
        nearest_late: Option | None = None
        for candidate in sorted(candidates, key=lambda c: (c.distance_m, str(c.technician_id))):
            decision = self.inner.decide(job, [candidate], now)
            if decision.best is not None:
                return Decision(decision.best, None, "")
            if nearest_late is None and decision.best_late is not None:
                nearest_late = decision.best_late
        reason = "no qualified technician nearby can arrive within the SLA" if candidates else "no candidate"
        return Decision(None, nearest_late, reason)
