"""What happens on the simulated day, decided up front from the seed: pure data, no I/O.

Emergencies arrive as a Poisson process over the working hours (exponential gaps), at sites drawn in
proportion to their units; a few are cancelled by the customer a while later. Technicians' jobs overrun
now and then and sometimes fail needing parts; one technician calls in sick at 10:00. Customers rate
completed jobs with a satisfaction that depends on punctuality and the outcome.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from deploy.local.company.generator import Company

__all__ = [
    "DESCRIPTIONS",
    "Emergency",
    "JobBehaviour",
    "Scenario",
    "build_scenario",
    "job_behaviour",
    "satisfaction",
]

TZ = ZoneInfo("Europe/Simferopol")

DESCRIPTIONS = (
    "Cold room at +9 C, goods at risk",
    "Display case not cooling",
    "Ice machine leaking water",
    "Condensing unit tripping the breaker",
    "Compressor very noisy",
    "Freezer alarm: -8 C instead of -18 C",
    "Refrigerant smell near the unit",
    "Door seal broken, ice building up",
)


@dataclass(frozen=True, slots=True)
class Emergency:
    index: int
    at: datetime  # when the customer files it (UTC)
    customer_ref: str
    site_ref: str
    serial: str | None  # the unit, when the customer names one
    description: str
    cancel_after: timedelta | None  # the customer cancels this long after filing (None: never)


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: int
    day: date
    day_start: datetime  # UTC: the simulated clock starts here (07:00 local)
    day_end: datetime  # UTC: the player stops here
    emergencies: tuple[Emergency, ...]
    sick_technician: str | None  # name
    sick_at: datetime | None
    technicians: tuple[str, ...]  # the names taking part (all of the company's by default)


@dataclass(frozen=True, slots=True)
class JobBehaviour:
    duration_factor: float  # actual / planned time on site
    outcome: str  # completed | needs_parts
    ping_jitter_m: float


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, TZ).astimezone(ZoneInfo("UTC"))


def build_scenario(
    company: Company,
    seed: int = 1,
    day: date = date(2026, 12, 8),
    emergencies_per_day: float = 30.0,
    hours: tuple[time, time] = (time(7, 30), time(19, 0)),
    file_from: time = time(8, 0),
    file_until: time = time(17, 0),
    cancel_share: float = 0.07,
    technicians: int | None = None,
    sick_call: bool = True,
) -> Scenario:
    """The day for ``seed``: emergencies between ``file_from`` and ``file_until`` at about the given daily rate.

    Filing starts with the shifts (08:00): dispatch places an emergency only with someone on shift now.
    """
    rng = random.Random(f"scenario-{seed}")
    start, end = _local(day, hours[0]), _local(day, hours[1])
    first, last = _local(day, file_from), _local(day, file_until)
    window_h = (last - first).total_seconds() / 3600
    rate_per_h = emergencies_per_day / window_h
    units_by_site: dict[str, list[str]] = {}
    for unit in company.equipment:
        units_by_site.setdefault(unit.site_ref, []).append(unit.serial)
    sites = [s for s in company.sites if s.ref in units_by_site]
    weights = [len(units_by_site[s.ref]) for s in sites]
    names = tuple(t.name for t in company.technicians[: technicians or len(company.technicians)])
    if technicians is not None:  # a small scenario: only sites near the chosen technicians' towns
        towns = {t.town for t in company.technicians[:technicians]}
        pairs = [(s, w) for s, w in zip(sites, weights, strict=True) if s.town in towns]
        sites, weights = [s for s, _ in pairs], [w for _, w in pairs]
    found: list[Emergency] = []
    at = first
    while True:
        at += timedelta(hours=rng.expovariate(rate_per_h))
        if at >= last:
            break
        site = rng.choices(sites, weights=weights)[0]
        serial = rng.choice(units_by_site[site.ref]) if rng.random() < 0.85 else None
        cancel = timedelta(minutes=rng.randint(10, 40)) if rng.random() < cancel_share else None
        found.append(
            Emergency(
                len(found),
                at.replace(microsecond=0),
                site.customer_ref,
                site.ref,
                serial,
                rng.choice(DESCRIPTIONS),
                cancel,
            )
        )
    sick = rng.choice(names) if sick_call and len(names) > 2 else None
    return Scenario(
        seed=seed,
        day=day,
        day_start=start,
        day_end=end,
        emergencies=tuple(found),
        sick_technician=sick,
        sick_at=_local(day, time(10, 0)) if sick else None,
        technicians=names,
    )


def job_behaviour(seed: int, technician: str, ordinal: int, overrun_share: float = 0.12) -> JobBehaviour:
    """How the ``ordinal``-th job of a technician goes; the same for the same seed under either policy."""
    digest = hashlib.sha256(f"{seed}:{technician}:{ordinal}".encode()).digest()
    rng = random.Random(digest)
    if rng.random() < overrun_share:
        factor = rng.uniform(1.4, 2.2)
    else:
        factor = rng.uniform(0.75, 1.1)
    outcome = "needs_parts" if rng.random() < 0.07 else "completed"
    return JobBehaviour(factor, outcome, rng.uniform(0.0, 30.0))


def satisfaction(seed: int, request_ref: str, late_minutes: float, completed: bool) -> tuple[int, int]:
    """(CSAT 1-5, NPS 0-10): punctual and fixed is mostly 5 and a promoter; late or unfixed costs points."""
    rng = random.Random(f"{seed}:{request_ref}")
    csat = 5.0 if late_minutes <= 0 else 4.0 if late_minutes <= 30 else 3.0 if late_minutes <= 120 else 2.0
    if not completed:
        csat -= 1.5
    csat += rng.choice((-1, 0, 0, 0, 0, 0.5))
    nps = 9.5 if late_minutes <= 0 else 8.0 if late_minutes <= 30 else 6.0 if late_minutes <= 120 else 3.0
    if not completed:
        nps -= 3
    nps += rng.choice((-2, -1, 0, 0, 0, 1))
    return int(min(5, max(1, round(csat)))), int(min(10, max(0, round(nps))))
