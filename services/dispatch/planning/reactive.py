"""Reactive insertion of an urgent job into the live day: numpy over every (route, position), no search.

``LiveDay.build`` flattens the live routes of the candidate technicians into insertion slots (dispatch
builds one per emergency decision, from each candidate's remaining day: usecases/reactive_placement.py);
``earliest_feasible_insertion`` then answers with a handful of vectorised passes: travel from every
route point to the job and back, arrival, push-forward on the next stop, and the slack that stop can
absorb without breaking a committed window or the hard end of the shift.
A technician on a break is free (``available_from``) from its end. A break still to take (``LiveBreak``)
sits in the route where the planner takes it, before the first stop ending after its latest start: an
insertion in that gap goes either before it (the break follows the job, where the job is, and must
still start in time) or after it; an insertion earlier may push it only as far as its latest start.
The background re-plan places the breaks again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .model import GeoPoint
from .travel import FloatArray, coordinates

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
_EPS = 1e-6


class ArrayTravelTimeProvider(Protocol):
    def durations_between(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        """Seconds between (n, 2) and (m, 2) lat/lon arrays, shape (n, m)."""
        ...


@dataclass(frozen=True, slots=True)
class LiveStop:
    visit_id: str
    location: GeoPoint
    arrival: float
    start: float
    service_duration: float
    latest_start: float = float("inf")  # committed window end (or promised ETA): must still hold


@dataclass(frozen=True, slots=True)
class LiveBreak:
    """The break still to take: `duration` long, starting in [earliest, latest], taken where the technician is
    on the way to stop `before` (len(stops): after the last one, before going home)."""

    earliest: float
    latest: float
    duration: float
    before: int


@dataclass(frozen=True, slots=True)
class LiveRoute:
    """What is left of a technician's day: where and when they are next free, and the stops ahead."""

    technician_id: str
    skills: Mapping[str, int]
    position: GeoPoint
    available_from: float
    stops: tuple[LiveStop, ...]
    end_location: GeoPoint
    end_arrival: float  # planned arrival at the end location, the break still due not counted
    hard_end: float  # shift end plus allowed overtime
    rest: LiveBreak | None = None  # the break still due

    def departure(self, position: int) -> float:
        """When the technician leaves for what is at `position` (the job inserted there, or stops[position])."""
        if position == 0:
            return self.available_from
        stop = self.stops[position - 1]
        return stop.start + stop.service_duration

    def rest_with_room(self) -> LiveBreak | None:
        """The break still due, or None when the day as booked has no room for it already (a day the planner or a
        dispatcher left that way is not blamed on an insertion)."""
        rest = self.rest
        if rest is None:
            return None
        start = max(rest.earliest, self.departure(rest.before))
        if start > rest.latest + _EPS:
            return None
        if rest.before < len(self.stops) and start + rest.duration > self.stops[rest.before].start + _EPS:
            return None
        return rest


@dataclass(frozen=True, slots=True)
class UrgentJob:
    id: str
    location: GeoPoint
    service_duration: float
    sla_deadline: float  # service must start by then
    required_skills: Mapping[str, int] = field(default_factory=dict)
    earliest_start: float = 0.0
    # per technician id: what serving it costs them on top of the arrival (seconds; from outside the site's territory)
    crossing_cost: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Insertion:
    technician_id: str
    position: int  # index in LiveRoute.stops the job goes before (len(stops): after the last)
    arrival: float
    start: float
    push_forward: float  # how much later the next stop starts
    meets_sla: bool
    after_break: bool = False  # goes in the gap of the break still due, after it (before it when False)


@dataclass(frozen=True, slots=True)
class InsertionDecision:
    best: Insertion | None  # earliest feasible arrival that meets the SLA
    earliest_late: Insertion | None  # earliest feasible arrival if none meets the SLA
    reason: str  # why there is no ``best``; empty when there is one


@dataclass(frozen=True, slots=True)
class LiveDay:
    """Flat arrays over insertion slots: slot s is "between prev_point[s] and next_point[s] of route[s]"."""

    technician_ids: tuple[str, ...]
    skill_names: tuple[str, ...]
    skill_levels: npt.NDArray[np.int64]  # (technicians, skills), -1 when missing
    points: FloatArray  # (points, 2) lat/lon
    slot_route: IntArray
    slot_position: IntArray
    slot_prev: IntArray  # point index
    slot_next: IntArray  # point index
    prev_departure: FloatArray
    next_start: FloatArray  # planned start of the next stop (arrival at the end location for the last slot)
    max_push: FloatArray  # how much later the next stop may start without breaking anything after it
    # the break still due when it follows the job straight away (else -inf, 0, inf): taken where the job is
    rest_earliest: FloatArray
    rest_duration: FloatArray
    rest_latest: FloatArray
    slot_after_break: BoolArray
    next_is_stop: BoolArray  # the slot's next point is a customer's stop (else the route's end: home)

    @staticmethod
    def build(routes: Sequence[LiveRoute]) -> LiveDay:
        skill_names = tuple(sorted({s for r in routes for s in r.skills}))
        column = {s: k for k, s in enumerate(skill_names)}
        levels = np.full((len(routes), len(skill_names)), -1, dtype=np.int64)
        for t, route in enumerate(routes):
            for skill, level in route.skills.items():
                levels[t, column[skill]] = level
        points: list[GeoPoint] = []
        slot_route, slot_position, slot_prev, slot_next = [], [], [], []
        prev_departure, next_start, max_push = [], [], []
        rest_earliest, rest_duration, rest_latest, slot_after_break = [], [], [], []
        next_is_stop = []
        for t, route in enumerate(routes):
            first = len(points)
            points.append(route.position)
            points.extend(s.location for s in route.stops)
            points.append(route.end_location)
            m = len(route.stops)
            departure = route.departure
            rest = route.rest_with_room()
            b = rest.before if rest else -1
            rest_start = max(rest.earliest, departure(b)) if rest else 0.0
            rest_end = rest_start + rest.duration if rest else 0.0
            end_arrival = route.end_arrival + (rest_end - departure(m) if b == m else 0.0)
            arrival = [s.arrival for s in route.stops]
            if 0 <= b < m:  # the break is taken before setting off for stop b (its drive not counted, as the desk)
                arrival[b] = max(arrival[b], min(route.stops[b].start, rest_end))
            # Backward pass: the delay each stop's start can take, absorbed by waits further on (the wait for the
            # break's earliest start among them, its latest start a bound like a committed window).
            push = [0.0] * (m + 1)
            push[m] = route.hard_end - end_arrival
            for i in range(m - 1, -1, -1):
                stop = route.stops[i]
                after_wait = (route.stops[i + 1].start - arrival[i + 1]) if i + 1 < m else 0.0
                onward = push[i + 1] + after_wait
                if rest is not None and i + 1 == b:
                    onward = (rest_start - departure(b)) + min(rest.latest - rest_start, onward)
                push[i] = min(stop.latest_start - stop.start, onward)
            slots = [(p, False) for p in range(m + 1)]
            if rest is not None:
                slots.insert(b + 1, (b, True))
            for p, after_break in slots:
                slot_route.append(t)
                slot_position.append(p)
                slot_prev.append(first + p)
                slot_next.append(first + p + 1)
                prev_departure.append(rest_end if after_break else departure(p))
                next_start.append(route.stops[p].start if p < m else end_arrival)
                max_push.append(push[p])
                before_break = rest is not None and p == b and not after_break
                rest_earliest.append(rest.earliest if rest and before_break else -np.inf)
                rest_duration.append(rest.duration if rest and before_break else 0.0)
                rest_latest.append(rest.latest if rest and before_break else np.inf)
                slot_after_break.append(after_break)
                next_is_stop.append(p < m)
        return LiveDay(
            technician_ids=tuple(r.technician_id for r in routes),
            skill_names=skill_names,
            skill_levels=levels,
            points=coordinates(points),
            slot_route=np.asarray(slot_route, dtype=np.intp),
            slot_position=np.asarray(slot_position, dtype=np.intp),
            slot_prev=np.asarray(slot_prev, dtype=np.intp),
            slot_next=np.asarray(slot_next, dtype=np.intp),
            prev_departure=np.asarray(prev_departure, dtype=np.float64),
            next_start=np.asarray(next_start, dtype=np.float64),
            max_push=np.asarray(max_push, dtype=np.float64),
            rest_earliest=np.asarray(rest_earliest, dtype=np.float64),
            rest_duration=np.asarray(rest_duration, dtype=np.float64),
            rest_latest=np.asarray(rest_latest, dtype=np.float64),
            slot_after_break=np.asarray(slot_after_break, dtype=np.bool_),
            next_is_stop=np.asarray(next_is_stop, dtype=np.bool_),
        )

    def skilled(self, required: Mapping[str, int]) -> BoolArray:
        ok = np.ones(len(self.technician_ids), dtype=np.bool_)
        for skill, level in required.items():
            if skill not in self.skill_names:
                return np.zeros(len(self.technician_ids), dtype=np.bool_)
            ok &= self.skill_levels[:, self.skill_names.index(skill)] >= level
        return ok


@dataclass(frozen=True, slots=True)
class DetourAllowance:
    """How much later than the earliest arrival an emergency may be served by a technician whose day it adds less
    driving to: at least ``minimum`` seconds, and ``sla_share`` of the time the earliest arrival leaves before the SLA
    deadline, up to ``cap`` seconds. An emergency due in four hours can wait for the technician already nearby; one
    due in thirty minutes goes to whoever is there first."""

    minimum: float = 0.0
    sla_share: float = 0.0
    cap: float = float("inf")

    def slack(self, earliest: float, deadline: float) -> float:
        """Seconds later than ``earliest`` (arrival, crossing priced in) that still count as soon enough."""
        if self.sla_share <= 0 or deadline <= earliest:
            return self.minimum
        return max(self.minimum, min(self.cap, self.sla_share * (deadline - earliest)))


EARLIEST_ARRIVAL = DetourAllowance()  # no trading of arrival for driving


def earliest_feasible_insertion(
    day: LiveDay,
    job: UrgentJob,
    travel: ArrayTravelTimeProvider,
    now: float,
    detour: DetourAllowance = EARLIEST_ARRIVAL,
) -> InsertionDecision:
    """The technician and position with the earliest arrival that keeps skills, SLA and committed windows (an arrival
    from outside the site's territory counted later by its crossing cost).

    ``detour`` trades some of that arrival for driving: of the insertions that meet the SLA and arrive within its
    slack of the earliest, the one adding the least travel to its route (the detour: there, then on to the next stop
    or home, less the leg it replaces; a crossing's cost and the push on the next stop added). No slack: the
    earliest arrival whatever the detour."""
    skilled = day.skilled(job.required_skills)
    if not skilled.any():
        return InsertionDecision(None, None, "no technician has the required skills")
    here = coordinates([job.location])
    to_job = travel.durations_between(day.points, here)[:, 0]
    from_job = travel.durations_between(here, day.points)[0]
    arrival = np.maximum(day.prev_departure, now) + to_job[day.slot_prev]
    start = np.maximum(arrival, job.earliest_start)
    rest_start = np.maximum(start + job.service_duration, day.rest_earliest)  # the job's end where no break follows
    next_arrival = rest_start + day.rest_duration + from_job[day.slot_next]
    push = np.maximum(0.0, next_arrival - day.next_start)
    feasible = skilled[day.slot_route] & (push <= day.max_push + _EPS) & (rest_start <= day.rest_latest + _EPS)
    if not feasible.any():
        return InsertionDecision(None, None, "no skilled technician can fit it without breaking a commitment")
    on_time = feasible & (start <= job.sla_deadline + _EPS)

    # a technician from outside the site's territory counts as arriving that much later
    crossing = np.array([job.crossing_cost.get(t, 0.0) for t in day.technician_ids], dtype=np.float64)[day.slot_route]
    ranked = arrival + crossing

    def first(mask: BoolArray, *keys: FloatArray) -> Insertion:
        """The slot of ``mask`` first by ``keys`` (the first key sorts first)."""
        candidates = np.flatnonzero(mask)
        s = int(candidates[np.lexsort(tuple(k[candidates] for k in reversed(keys)))[0]])
        return Insertion(
            technician_id=day.technician_ids[int(day.slot_route[s])],
            position=int(day.slot_position[s]),
            arrival=float(arrival[s]),
            start=float(start[s]),
            push_forward=float(push[s]),
            meets_sla=bool(start[s] <= job.sla_deadline + _EPS),
            after_break=bool(day.slot_after_break[s]),
        )

    if not on_time.any():
        # Earliest arrival (crossing priced in); among equal ones the smaller disruption of the rest of the route.
        return InsertionDecision(None, first(feasible, ranked, push), "no feasible insertion meets the SLA deadline")
    earliest = float(ranked[on_time].min())
    slack = detour.slack(earliest, job.sla_deadline)
    if slack <= 0:
        return InsertionDecision(first(on_time, ranked, push), None, "")
    soon = on_time & (ranked <= earliest + slack + _EPS)
    replaced = travel.durations_between(day.points, day.points)[day.slot_prev, day.slot_next]
    # what the slot costs the rest of the day: the extra driving, and the delay it pushes onto the customers after it
    # (a technician already at the site is no bargain if the job they are there for waits an hour)
    delay = np.where(day.next_is_stop, push, 0.0)
    added = to_job[day.slot_prev] + from_job[day.slot_next] - replaced + crossing + delay
    return InsertionDecision(first(soon, added, ranked), None, "")
