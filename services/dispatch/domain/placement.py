"""Choosing who answers an emergency: what the database found, and the rule that picks among it.

`PlacementRule` is the seam: the candidates (skilled, on shift now or soon, within reach, nearest first, each with
the rest of their day) go in; the earliest feasible arrival that meets the SLA comes out, with the
bookings it pushes later, or the best late option and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.dispatch.domain.breaks import BreakWindow


@dataclass(frozen=True)
class BookedStop:
    """An active booking ahead on a candidate's day (or the one they are on)."""

    assignment_id: uuid.UUID
    request_id: uuid.UUID
    status: str
    lat: float
    lon: float
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    latest_start: datetime | None  # a window end, an SLA deadline or a lock it must still keep
    customer_id: uuid.UUID  # whose visit it is: told when the booking moves
    promised_eta: datetime | None = None  # the arrival the customer was told


@dataclass(frozen=True)
class Candidate:
    technician_id: uuid.UUID
    first_name: str
    skills: Mapping[str, int]
    lat: float
    lon: float
    home_lat: float
    home_lon: float
    distance_m: float
    route_version: int
    hard_end: datetime  # end of the shift plus the overtime allowed
    stops: tuple[BookedStop, ...] = ()
    break_ends_at: datetime | None = None  # on a break until then
    shift_start: datetime | None = None  # the shift the job would be in starts then (later today: sets off then)
    break_due: BreakWindow | None = None  # the shift's break not taken yet: the day must keep room for it
    crossing_cost_s: float = 0.0  # what serving the job costs on top of the arrival: outside the site's territory


@dataclass(frozen=True)
class Job:
    request_id: uuid.UUID
    lat: float
    lon: float
    duration_minutes: int
    response_due: datetime | None
    required_skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Retiming:
    """A booking the insertion pushes later."""

    assignment_id: uuid.UUID
    planned_start: datetime
    planned_end: datetime
    eta: datetime


@dataclass(frozen=True)
class Option:
    technician_id: uuid.UUID
    first_name: str
    route_version: int
    eta: datetime
    planned_start: datetime
    planned_end: datetime
    meets_sla: bool
    retimed: tuple[Retiming, ...] = ()

    def describe(self) -> str:
        return f"{self.first_name} could arrive at {self.eta.isoformat(timespec='minutes')}"


@dataclass(frozen=True)
class Decision:
    best: Option | None  # earliest feasible arrival that meets the SLA
    best_late: Option | None  # the earliest feasible arrival when none meets it
    reason: str  # why there is no `best`; empty when there is one


def earliest_departure(now: datetime, break_ends_at: datetime | None, shift_start: datetime | None = None) -> datetime:
    """A technician on a break, or whose shift starts later, is still a candidate, but sets off only once the break
    is over or the shift begins."""
    return max(t for t in (now, break_ends_at, shift_start) if t is not None)


class PlacementRule(Protocol):
    def decide(self, job: Job, candidates: Sequence[Candidate], now: datetime) -> Decision: ...
