"""Status sequences no one could really have made: flagged to the dispatcher, and such an arrival is not taken
as a response time. Pure: moments, distances and expected durations in, a reason or None out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Plausibility:
    """How generous the checks are."""

    speedup: float = 3.0  # an arrival this many times faster than the travel model expects is impossible
    arrival_radius_m: float = 1000.0  # "on site" further than this from the site
    short_leg_m: float = 500.0  # legs shorter than this are never judged on their speed (GPS noise, neighbours)
    least_work_share: float = 0.1  # completed sooner than this share of the planned duration after arriving


@dataclass(frozen=True)
class Suspicion:
    kind: str  # implausible_arrival, implausible_completion
    reason: str


def _minutes(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def check_arrival(
    en_route_at: datetime | None,
    on_site_at: datetime,
    distance_m: float | None,
    expected_travel: timedelta | None,
    on_site_distance_m: float | None,
    rules: Plausibility = Plausibility(),
) -> Suspicion | None:
    """An "on site" that could not have happened: no "en route" before it, faster than `rules.speedup` times the
    expected drive of `distance_m` (from where "en route" was reported), or reported far from the site."""
    if en_route_at is None:
        return Suspicion("implausible_arrival", "on site without being en route first")
    if on_site_distance_m is not None and on_site_distance_m > rules.arrival_radius_m:
        return Suspicion(
            "implausible_arrival", f"reported on site {on_site_distance_m / 1000:.1f} km away from the site"
        )
    if distance_m is None or expected_travel is None or distance_m < rules.short_leg_m:
        return None
    took = on_site_at - en_route_at
    if took * rules.speedup < expected_travel:
        return Suspicion(
            "implausible_arrival",
            f"on site {_minutes(took)} after en route from {distance_m / 1000:.1f} km away "
            f"(the drive takes about {_minutes(expected_travel)})",
        )
    return None


def check_completion(
    on_site_at: datetime | None, finished_at: datetime, planned: timedelta, rules: Plausibility = Plausibility()
) -> Suspicion | None:
    """A job finished implausibly soon after arriving for its planned duration."""
    if on_site_at is None:
        return None
    took = finished_at - on_site_at
    if took < planned * rules.least_work_share:
        return Suspicion(
            "implausible_completion",
            f"finished {_minutes(took)} after arriving for a {_minutes(planned)} job",
        )
    return None
