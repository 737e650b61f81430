"""Seeded field-service days around the towns of Crimea: more work than fits, as on a bad Monday.

Technicians live in the towns (by rough population), with refrigeration levels 1-3 and, for some,
electrical and gas (refrigerant) certification; shifts 08:00-17:00 with a 30-minute lunch to be
taken between 12:00 and 14:00 and up to an hour of overtime. Visits scatter a few km around the
towns, need refrigeration at some level and sometimes electrical or gas, have one or two windows
(or the whole day), a priority P1-P4, and an SLA deadline for P1/P2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.dispatch.planning import (
    BreakRule,
    GeoPoint,
    PlanningProblem,
    Priority,
    Shift,
    Technician,
    TimeWindow,
    Visit,
)

H = 3600.0
M = 60.0


@dataclass(frozen=True, slots=True)
class Town:
    name: str
    centre: GeoPoint
    weight: float  # share of technicians and of work
    spread_km: float


TOWNS: tuple[Town, ...] = (
    Town("Simferopol", GeoPoint(44.952, 34.102), 0.30, 6.0),
    Town("Sevastopol", GeoPoint(44.616, 33.525), 0.24, 7.0),
    Town("Yalta", GeoPoint(44.495, 34.166), 0.12, 5.0),
    Town("Kerch", GeoPoint(45.357, 36.468), 0.11, 4.0),
    Town("Feodosia", GeoPoint(45.032, 35.382), 0.11, 4.0),
    Town("Yevpatoria", GeoPoint(45.190, 33.367), 0.12, 4.0),
)
KM_PER_DEGREE_LAT = 111.0


def _near(town: Town, rng: random.Random) -> GeoPoint:
    import math

    dlat = rng.gauss(0.0, town.spread_km) / KM_PER_DEGREE_LAT
    dlon = rng.gauss(0.0, town.spread_km) / (KM_PER_DEGREE_LAT * math.cos(math.radians(town.centre.lat)))
    return GeoPoint(round(town.centre.lat + dlat, 6), round(town.centre.lon + dlon, 6))


def _town(rng: random.Random) -> Town:
    return rng.choices(TOWNS, weights=[t.weight for t in TOWNS])[0]


def field_day(technicians: int = 120, visits: int = 1000, seed: int = 1) -> PlanningProblem:
    rng = random.Random(seed)
    lunch = BreakRule(duration=30 * M, earliest_start=12 * H, latest_start=13 * H + 30 * M)
    shift = Shift(day=0, start=8 * H, end=17 * H, breaks=(lunch,), overtime_limit=H)
    techs = []
    for t in range(technicians):
        skills = {"refrigeration": rng.choices([1, 2, 3], weights=[0.35, 0.4, 0.25])[0]}
        if rng.random() < 0.6:
            skills["electrical"] = rng.choice([1, 2])
        if rng.random() < 0.35:
            skills["gas"] = 1
        techs.append(Technician(id=f"tech-{t:03d}", home=_near(_town(rng), rng), shifts=(shift,), skills=skills))
    slots = [(8 * H, 12 * H), (12 * H, 16 * H), (9 * H, 13 * H), (13 * H, 17 * H), (8 * H, 17 * H)]
    jobs = []
    for v in range(visits):
        need = {"refrigeration": rng.choices([1, 2, 3], weights=[0.5, 0.35, 0.15])[0]}
        if rng.random() < 0.2:
            need["electrical"] = rng.choice([1, 1, 2])
        if rng.random() < 0.12:
            need["gas"] = 1
        kind = rng.random()
        if kind < 0.55:
            windows: tuple[TimeWindow, ...] = (TimeWindow(*rng.choice(slots[:4])),)
        elif kind < 0.8:  # the customer is in the morning or in the late afternoon
            windows = (TimeWindow(8 * H, 10 * H), TimeWindow(14 * H, 16 * H + 30 * M))
        else:
            windows = ()
        priority = rng.choices(list(Priority), weights=[0.05, 0.15, 0.4, 0.4])[0]
        sla = {Priority.P1: 11 * H, Priority.P2: 14 * H}.get(priority)
        jobs.append(
            Visit(
                id=f"visit-{v:04d}",
                location=_near(_town(rng), rng),
                service_duration=rng.choice([30, 45, 60, 60, 90, 120]) * M,
                windows=windows,
                required_skills=need,
                priority=priority,
                sla_deadline=sla,
            )
        )
    return PlanningProblem(tuple(techs), tuple(jobs))
