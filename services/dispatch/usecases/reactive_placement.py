"""The planner's vectorised reactive insertion behind the `PlacementRule` seam.

Times become seconds from `now`; each candidate's remaining day becomes a `LiveRoute`. The booking a
technician is on (en route or on site) is where they are free from, not a slot to insert before; a
technician on a break is free from its end, one whose shift starts later from its start; a break still due
goes into the route where it is taken (domain/breaks.break_taken_before), so the insertion never squeezes it out
of its window: a job that would goes after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import numpy as np

from services.dispatch.domain.breaks import break_taken_before
from services.dispatch.domain.lifecycle import STARTED
from services.dispatch.domain.placement import (
    BookedStop,
    Candidate,
    Decision,
    Job,
    Option,
    Retiming,
    earliest_departure,
)
from services.dispatch.planning import GeoPoint
from services.dispatch.planning.reactive import (
    EARLIEST_ARRIVAL,
    DetourAllowance,
    Insertion,
    LiveBreak,
    LiveDay,
    LiveRoute,
    LiveStop,
    UrgentJob,
    earliest_feasible_insertion,
)
from services.dispatch.planning.travel import coordinates
from services.dispatch.planning.travel_cache import TravelModel

_UNBOUNDED = float("inf")


class ReactiveInsertion:
    def __init__(self, travel: TravelModel, detour: DetourAllowance = EARLIEST_ARRIVAL) -> None:
        """``detour``: how much later than the earliest arrival an emergency may be served by a technician whose day
        it adds less driving to (planning/reactive.earliest_feasible_insertion)."""
        self.travel = travel
        self.detour = detour

    def decide(self, job: Job, candidates: Sequence[Candidate], now: datetime) -> Decision:
        if not candidates:
            return Decision(None, None, "no technician with the skills is on shift within reach")

        def secs(moment: datetime) -> float:
            return (moment - now).total_seconds()

        def at(seconds: float) -> datetime:
            return now + timedelta(seconds=seconds)

        # the leg home from each route's last point, in one vectorised call
        last_points, homes = [], []
        routes_ahead: list[tuple[Candidate, tuple[float, float], float, list[BookedStop]]] = []
        for c in candidates:
            position, free_from = (c.lat, c.lon), secs(earliest_departure(now, c.break_ends_at, c.shift_start))
            ahead = []
            for stop in c.stops:
                if stop.status in STARTED:
                    position, free_from = (stop.lat, stop.lon), max(free_from, secs(stop.planned_end))
                elif stop.planned_end > now:
                    ahead.append(stop)
            last = ahead[-1] if ahead else None
            last_points.append((last.lat, last.lon) if last else position)
            homes.append((c.home_lat, c.home_lon))
            routes_ahead.append((c, position, free_from, ahead))
        home_legs = np.diagonal(self.travel.durations_between(np.array(last_points), np.array(homes)))
        routes = []
        for (c, position, free_from, ahead), home_leg in zip(routes_ahead, home_legs, strict=True):
            stops = tuple(
                LiveStop(
                    visit_id=str(stop.assignment_id),
                    location=GeoPoint(stop.lat, stop.lon),
                    arrival=min(secs(stop.eta), secs(stop.planned_start)),
                    start=secs(stop.planned_start),
                    service_duration=(stop.planned_end - stop.planned_start).total_seconds(),
                    latest_start=secs(stop.latest_start) if stop.latest_start else _UNBOUNDED,
                )
                for stop in ahead
            )
            last_free = stops[-1].start + stops[-1].service_duration if stops else free_from
            due = c.break_due
            rest = (
                LiveBreak(
                    earliest=secs(due.earliest),
                    latest=secs(due.latest),
                    duration=60.0 * due.minutes,
                    before=break_taken_before(due, [stop.planned_end for stop in ahead]),
                )
                if due
                else None
            )
            routes.append(
                LiveRoute(
                    technician_id=str(c.technician_id),
                    skills=dict(c.skills),
                    position=GeoPoint(*position),
                    available_from=free_from,
                    stops=stops,
                    end_location=GeoPoint(c.home_lat, c.home_lon),
                    end_arrival=last_free + float(home_leg),
                    hard_end=max(secs(c.hard_end), last_free + float(home_leg)),
                    rest=rest,
                )
            )
        urgent = UrgentJob(
            id=str(job.request_id),
            location=GeoPoint(job.lat, job.lon),
            service_duration=job.duration_minutes * 60.0,
            sla_deadline=secs(job.response_due) if job.response_due else _UNBOUNDED,
            required_skills=dict(job.required_skills),
            crossing_cost={str(c.technician_id): c.crossing_cost_s for c in candidates if c.crossing_cost_s > 0},
        )
        decision = earliest_feasible_insertion(LiveDay.build(routes), urgent, self.travel, 0.0, self.detour)
        by_id = {str(c.technician_id): (c, r) for c, r in zip(candidates, routes, strict=True)}

        def option(insertion: Insertion | None) -> Option | None:
            if insertion is None:
                return None
            candidate, route = by_id[insertion.technician_id]
            end = insertion.start + urgent.service_duration
            return Option(
                technician_id=candidate.technician_id,
                first_name=candidate.first_name,
                route_version=candidate.route_version,
                eta=at(insertion.arrival),
                planned_start=at(insertion.start),
                planned_end=at(end),
                meets_sla=insertion.meets_sla,
                retimed=self._pushed(route, insertion, urgent.location, end, at),
            )

        return Decision(option(decision.best), option(decision.earliest_late), decision.reason)

    def _pushed(
        self, route: LiveRoute, insertion: Insertion, origin: GeoPoint, free_at: float, at: Callable[[float], datetime]
    ) -> tuple[Retiming, ...]:
        """The stops after the inserted job that now start later, in order, until one absorbs the delay (the break
        still due, if it comes after the job, taken on the way to its stop)."""
        position = insertion.position
        later = route.stops[position:]
        if not later:
            return ()
        rest = route.rest_with_room()
        if rest is not None and (insertion.after_break or rest.before < position):
            rest = None  # taken before the job
        points = coordinates([origin, *(s.location for s in later)])
        legs = np.diagonal(self.travel.durations_between(points[:-1], points[1:]))
        moved = []
        for index, (stop, leg) in enumerate(zip(later, legs, strict=True), start=position):
            if rest is not None and index == rest.before:
                free_at = max(free_at, rest.earliest) + rest.duration
            arrival = free_at + float(leg)
            start = max(stop.start, arrival)
            if start <= stop.start + 1e-6:
                break
            moved.append(Retiming(uuid.UUID(stop.visit_id), at(start), at(start + stop.service_duration), at(arrival)))
            free_at = start + stop.service_duration
        return tuple(moved)
