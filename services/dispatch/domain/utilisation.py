"""How the technicians' days went, from dispatch's records: hours on shift (net of the break), on site and driving,
and the kilometres their position pings trace. Pure: records in, figures out.

- shift hours: the day's shift up to `now`, less its break once the whole break window has passed within it;
- on site: from the first on-site step to the first ending (completed, failed, cancelled), or `now` while it lasts;
- driving: from the first en-route step to the first on-site step (a trip called off before arriving: to its end);
- travel km: the great-circle path through the day's position pings, in the order of their fixes;
- utilisation: on-site hours over shift hours.

Each figure is cut at the company's local midnights (a visit across midnight counts in both days).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from services.dispatch.domain.calendar import local_midnight

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG), as the planner's travel model

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class ShiftWorked:
    technician_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    break_minutes: int = 0
    break_earliest: datetime | None = None
    break_latest: datetime | None = None


@dataclass(frozen=True, slots=True)
class VisitSteps:
    """When a booking's technician set off, arrived and finished (the first of each step; None: not reached)."""

    technician_id: uuid.UUID
    en_route_at: datetime | None
    on_site_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class Ping:
    technician_id: uuid.UUID
    at: datetime
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class DayOfWork:
    """One technician's day (or, with `day` and `technician_id` None, the sum over several)."""

    day: date | None
    technician_id: uuid.UUID | None
    shift_hours: float
    on_site_hours: float
    driving_hours: float
    travel_km: float

    @property
    def utilisation(self) -> float | None:
        """On-site hours over shift hours; None with no shift hours."""
        return round(self.on_site_hours / self.shift_hours, 3) if self.shift_hours > 0 else None


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle kilometres between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def path_km(points: Sequence[tuple[float, float]]) -> float:
    """The length of the path through `points`, in order."""
    return sum(haversine_km(a, b) for a, b in pairwise(points))


def hours_within(span: Span, window: Span) -> float:
    """Hours of `span` inside `window`."""
    start, end = max(span[0], window[0]), min(span[1], window[1])
    return max(0.0, (end - start).total_seconds() / 3600)


def shift_hours(shift: ShiftWorked, window: Span) -> float:
    """The shift's hours inside `window`, less its break when the whole break window lies inside what is counted."""
    begin, end = max(shift.starts_at, window[0]), min(shift.ends_at, window[1])
    hours = hours_within((shift.starts_at, shift.ends_at), window)
    if (
        shift.break_minutes
        and shift.break_earliest is not None
        and shift.break_latest is not None
        and begin <= shift.break_earliest
        and end >= shift.break_latest
    ):
        hours = max(0.0, hours - shift.break_minutes / 60)
    return hours


def on_site_span(visit: VisitSteps, now: datetime) -> Span | None:
    if visit.on_site_at is None:
        return None
    return visit.on_site_at, visit.ended_at or now


def driving_span(visit: VisitSteps, now: datetime) -> Span | None:
    if visit.en_route_at is None:
        return None
    return visit.en_route_at, visit.on_site_at or visit.ended_at or now


def days_of_work(
    days: Sequence[date],
    tz: ZoneInfo,
    now: datetime,
    shifts: Iterable[ShiftWorked],
    visits: Iterable[VisitSteps],
    pings: Iterable[Ping],
) -> list[DayOfWork]:
    """Per local day and technician with anything to count, by day then technician id; up to `now` only."""
    windows = {d: (local_midnight(d, tz), min(local_midnight(d + timedelta(days=1), tz), now)) for d in days}
    figures: dict[tuple[date, uuid.UUID], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    shifts, visits = list(shifts), list(visits)
    for day, window in windows.items():
        if window[0] >= window[1]:
            continue  # a day still to come
        for shift in shifts:
            if (hours := shift_hours(shift, window)) > 0:
                figures[(day, shift.technician_id)][0] += hours
        for visit in visits:
            for slot, span in ((1, on_site_span(visit, now)), (2, driving_span(visit, now))):
                if span is not None and (hours := hours_within(span, window)) > 0:
                    figures[(day, visit.technician_id)][slot] += hours
    paths: dict[tuple[date, uuid.UUID], list[tuple[float, float]]] = defaultdict(list)
    for ping in sorted(pings, key=lambda p: (p.technician_id, p.at)):
        day = ping.at.astimezone(tz).date()
        if day in windows and ping.at < windows[day][1]:
            paths[(day, ping.technician_id)].append((ping.lat, ping.lon))
    kilometres = {key: path_km(points) for key, points in paths.items()}
    keys = sorted(set(figures) | {k for k, km in kilometres.items() if km > 0}, key=lambda k: (k[0], str(k[1])))
    return [
        DayOfWork(
            day=day,
            technician_id=technician_id,
            shift_hours=round(figures[(day, technician_id)][0], 3),
            on_site_hours=round(figures[(day, technician_id)][1], 3),
            driving_hours=round(figures[(day, technician_id)][2], 3),
            travel_km=round(kilometres.get((day, technician_id), 0.0), 2),
        )
        for day, technician_id in keys
    ]


def total(rows: Iterable[DayOfWork]) -> DayOfWork:
    """The sum of the rows (utilisation: their on-site hours over their shift hours)."""
    rows = list(rows)
    return DayOfWork(
        day=None,
        technician_id=None,
        shift_hours=round(sum(r.shift_hours for r in rows), 3),
        on_site_hours=round(sum(r.on_site_hours for r in rows), 3),
        driving_hours=round(sum(r.driving_hours for r in rows), 3),
        travel_km=round(sum(r.travel_km for r in rows), 2),
    )
