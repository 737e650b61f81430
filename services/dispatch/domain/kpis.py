"""Plan KPIs a dispatcher reads beside travel and SLA misses: how fast emergencies are reached, and how
well arrivals keep to the ETA first promised to the customer. Pure: moments in, minutes out."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Promise:
    """A booked visit: when the customer asked, the arrival first promised, the planned (or actual) arrival."""

    requested_at: datetime | None
    first_eta: datetime
    arrival: datetime
    emergency: bool


def p90(values: Sequence[float]) -> float:
    """The nearest-rank 90th percentile: the smallest value at least 90% of the values are not above."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


def promise_kpis(promises: Sequence[Promise], tolerance: timedelta) -> dict[str, Any]:
    """Emergency response (request to arrival) median and p90, and arrival against the first promised ETA
    (minutes late, early counting as 0; the share within the tolerance either way). None where nothing counts."""
    response = [_minutes(p.arrival - p.requested_at) for p in promises if p.emergency and p.requested_at is not None]
    late = [max(0.0, _minutes(p.arrival - p.first_eta)) for p in promises]
    within = [abs(p.arrival - p.first_eta) <= tolerance for p in promises]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "emergencies": len(response),
        "emergency_response_median_minutes": rounded(statistics.median(response) if response else None),
        "emergency_response_p90_minutes": rounded(p90(response) if response else None),
        "promised": len(promises),
        "eta_late_median_minutes": rounded(statistics.median(late) if late else None),
        "eta_late_p90_minutes": rounded(p90(late) if late else None),
        "eta_within_tolerance_share": round(sum(within) / len(within), 3) if within else None,
    }
