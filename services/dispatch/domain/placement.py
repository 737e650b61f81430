"""Choosing who answers an emergency: the rule the walking skeleton uses.

`PlacementRule` is the seam the planner's reactive insertion replaces: it gets the candidates the
database found (skilled, active, free, nearest first) and ranks them by earliest arrival.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class Candidate:
    technician_id: uuid.UUID
    first_name: str
    distance_m: float


@dataclass(frozen=True)
class Job:
    request_id: uuid.UUID
    duration_minutes: int
    response_due: datetime | None


@dataclass(frozen=True)
class Option:
    technician_id: uuid.UUID
    first_name: str
    eta: datetime
    planned_start: datetime
    planned_end: datetime
    meets_sla: bool


class PlacementRule(Protocol):
    def rank(self, job: Job, candidates: list[Candidate], now: datetime) -> list[Option]: ...


@dataclass(frozen=True)
class NearestFreeTechnician:
    """Straight-line distance times a road factor at an average speed; earliest arrival first."""

    road_factor: float = 1.3
    average_speed_kmh: float = 40.0

    def travel_time(self, distance_m: float) -> timedelta:
        hours = distance_m * self.road_factor / 1000.0 / self.average_speed_kmh
        return timedelta(minutes=math.ceil(hours * 60))  # rounded up: a promise we can keep

    def rank(self, job: Job, candidates: list[Candidate], now: datetime) -> list[Option]:
        options = []
        for c in candidates:
            eta = now + self.travel_time(c.distance_m)
            options.append(Option(
                technician_id=c.technician_id, first_name=c.first_name, eta=eta, planned_start=now,
                planned_end=eta + timedelta(minutes=job.duration_minutes),
                meets_sla=job.response_due is None or eta <= job.response_due,
            ))
        # those meeting the SLA first, then earliest arrival
        return sorted(options, key=lambda o: (not o.meets_sla, o.eta))
