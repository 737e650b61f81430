"""The day's numbers, read from the services' own records: requests' KPI endpoint and tables, dispatch's
assignments, history, shifts and position pings. Nothing here comes from the player's bookkeeping.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx

from services.dispatch.domain.utilisation import ShiftWorked, haversine_km, shift_hours

__all__ = ["day_metrics", "percentile"]

EMERGENCIES = """
SELECT r.id, r.priority, r.status, r.created_at, r.response_due, r.fix_due, r.cancelled_at,
       (SELECT min(t.at) FROM requests.request_timeline t WHERE t.request_id = r.id AND t.status = 'on_site')
         AS on_site_at,
       (SELECT min(t.at) FROM requests.request_timeline t WHERE t.request_id = r.id AND t.status = 'completed')
         AS completed_at
FROM requests.service_requests r
WHERE r.kind = 'emergency' AND r.created_at >= $1 AND r.created_at < $2
"""

ASSIGNMENTS = """
SELECT a.id, a.request_id, a.technician_id, a.status, j.kind, j.priority, j.response_due, j.fix_due,
       (SELECT min(h.at) FROM dispatch.assignment_history h WHERE h.assignment_id = a.id AND h.status = 'en_route')
         AS en_route_at,
       (SELECT min(h.at) FROM dispatch.assignment_history h WHERE h.assignment_id = a.id AND h.status = 'on_site')
         AS on_site_at,
       (SELECT max(h.at) FROM dispatch.assignment_history h
         WHERE h.assignment_id = a.id AND h.status IN ('completed', 'failed')) AS finished_at
FROM dispatch.assignments a JOIN dispatch.jobs j ON j.request_id = a.request_id
WHERE a.planned_start >= $1 AND a.planned_start < $2
"""

PINGS = """
SELECT technician_id, at, ST_Y(position::geometry) AS lat, ST_X(position::geometry) AS lon
FROM dispatch.position_pings WHERE at >= $1 AND at < $2 ORDER BY technician_id, at
"""

SHIFTS = """
SELECT technician_id, starts_at, ends_at, break_minutes, break_earliest, break_latest
FROM dispatch.shifts WHERE day = $1
"""
ABSENCES = "SELECT technician_id, starts_at, ends_at FROM dispatch.absences WHERE starts_at < $2 AND ends_at > $1"
PLANNED_JOBS = """
SELECT count(*) FROM dispatch.jobs
WHERE kind = 'planned' AND window_start < $2 AND window_end >= $1 AND status <> 'cancelled'
"""
# planned visits open on the day that a plan booked for a later day of their window (their tolerance allows it, but
# the day's own numbers then leave them out: shown beside the jobs completed so that the policies compare fairly)
PLANNED_BOOKED_LATER = """
SELECT count(DISTINCT j.request_id) FROM dispatch.jobs j JOIN dispatch.assignments a ON a.request_id = j.request_id
WHERE j.kind = 'planned' AND j.window_start < $2 AND j.window_end >= $1 AND j.status <> 'cancelled'
  AND a.status IN ('offered', 'accepted') AND a.planned_start >= $2
"""
TECHNICIANS = "SELECT id, name, first_name FROM dispatch.technicians"
# each arrival against the ETA the customer was promised at booking (requests' record of the assignment)
ARRIVALS = """
SELECT promised_eta, CAST(reached ->> 'on_site' AS timestamptz) AS on_site_at
FROM requests.request_assignments
WHERE reached ? 'on_site' AND promised_eta >= $1 AND promised_eta < $2
"""


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _pct(hits: int, count: int) -> float | None:
    return None if count == 0 else round(100.0 * hits / count, 1)


async def day_metrics(
    database_url: str,
    requests_url: str,
    dispatcher_token: str,
    day_start: datetime,
    day_end: datetime,
    as_of: datetime,
) -> dict[str, Any]:
    """Headline numbers of the day [day_start, day_end) as the databases and the KPI endpoint tell them."""
    midnight = day_start - timedelta(hours=day_start.hour, minutes=day_start.minute)
    conn = await asyncpg.connect(database_url)
    try:
        emergencies = [dict(r) for r in await conn.fetch(EMERGENCIES, midnight, day_end)]
        assignments = [dict(r) for r in await conn.fetch(ASSIGNMENTS, midnight, midnight + timedelta(days=1))]
        pings = await conn.fetch(PINGS, midnight, midnight + timedelta(days=1))
        local_day = (day_start + timedelta(hours=3)).date()  # Europe/Simferopol is UTC+3 all year
        shifts = await conn.fetch(SHIFTS, local_day)
        absences = await conn.fetch(ABSENCES, midnight, midnight + timedelta(days=1))
        planned_jobs = int(await conn.fetchval(PLANNED_JOBS, midnight, midnight + timedelta(days=1)))
        booked_later = int(await conn.fetchval(PLANNED_BOOKED_LATER, midnight, midnight + timedelta(days=1)))
        names = {r["id"]: r["name"] for r in await conn.fetch(TECHNICIANS)}
        arrivals = await conn.fetch(ARRIVALS, midnight, midnight + timedelta(days=1))
    finally:
        await conn.close()

    # --- response and fix SLAs of the emergencies (cancelled ones left out) ---
    live = [e for e in emergencies if e["status"] != "cancelled"]
    by_priority: dict[str, dict[str, list[bool]]] = defaultdict(lambda: {"response": [], "fix": []})
    response_minutes: list[float] = []
    for e in live:
        if e["response_due"] is not None and (e["on_site_at"] is not None or as_of > e["response_due"]):
            met = e["on_site_at"] is not None and e["on_site_at"] <= e["response_due"]
            by_priority[e["priority"]]["response"].append(met)
        if e["fix_due"] is not None and (e["completed_at"] is not None or as_of > e["fix_due"]):
            met = e["completed_at"] is not None and e["completed_at"] <= e["fix_due"]
            by_priority[e["priority"]]["fix"].append(met)
        if e["on_site_at"] is not None:
            response_minutes.append((e["on_site_at"] - e["created_at"]).total_seconds() / 60)
    response_all = [m for p in by_priority.values() for m in p["response"]]
    fix_all = [m for p in by_priority.values() for m in p["fix"]]

    # --- travel from the position pings; time driving and on site from the assignment history ---
    travel_km: dict[Any, float] = defaultdict(float)
    routes: dict[str, list[tuple[float, float]]] = defaultdict(list)
    previous: dict[Any, tuple[float, float]] = {}
    for p in pings:
        here = (float(p["lat"]), float(p["lon"]))
        if p["technician_id"] in previous:
            travel_km[p["technician_id"]] += haversine_km(previous[p["technician_id"]], here)
        previous[p["technician_id"]] = here
        routes[names.get(p["technician_id"], str(p["technician_id"]))].append(here)
    driving_h = 0.0
    on_site_h = 0.0
    for a in assignments:
        if a["en_route_at"] and a["on_site_at"]:
            driving_h += (a["on_site_at"] - a["en_route_at"]).total_seconds() / 3600
        if a["on_site_at"] and a["finished_at"]:
            on_site_h += (a["finished_at"] - a["on_site_at"]).total_seconds() / 3600
    away = {r["technician_id"] for r in absences}
    shift_h = 0.0
    for s in shifts:
        # the part of the shift the played day covers, up to a sick call (dispatch's rule: domain/utilisation.py)
        end = min(day_end, as_of)
        if s["technician_id"] in away:
            absent = next(r for r in absences if r["technician_id"] == s["technician_id"])
            end = min(end, absent["starts_at"])
        shift_h += shift_hours(ShiftWorked(**dict(s)), (day_start, end))
    finished = [a for a in assignments if a["status"] in ("completed", "failed")]
    completed = [a for a in finished if a["status"] == "completed"]

    # --- what the requests service's own KPI report says (on-time arrival, CSAT, NPS) ---
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.get(
            f"{requests_url}/kpis",
            params={"from": midnight.isoformat(), "to": (midnight + timedelta(days=1)).isoformat()},
            headers={"Authorization": f"Bearer {dispatcher_token}"},
        )
        response.raise_for_status()
        rows = response.json()["rows"]
    kpi = rows[0] if rows else {}

    def rate(name: str) -> float | None:
        value = (kpi.get(name) or {}).get("rate")
        return None if value is None else round(100.0 * float(value), 1)

    return {
        "response_sla_met_pct": _pct(sum(response_all), len(response_all)),
        "fix_sla_met_pct": _pct(sum(fix_all), len(fix_all)),
        "response_sla_met_pct_by_priority": {
            p: _pct(sum(v["response"]), len(v["response"])) for p, v in sorted(by_priority.items())
        },
        "fix_sla_met_pct_by_priority": {p: _pct(sum(v["fix"]), len(v["fix"])) for p, v in sorted(by_priority.items())},
        "travel_km": round(sum(travel_km.values()), 1),
        "travel_h": round(driving_h, 2),
        "utilisation_pct": _pct(round(on_site_h * 100), round(shift_h * 100)),
        "first_time_fix_pct": _pct(len(completed), len(finished)),
        "on_time_pct": rate("on_time_arrival"),
        "csat": kpi.get("csat_mean"),
        "nps": kpi.get("nps"),
        "planned_visits": planned_jobs,
        "planned_visits_done": len({a["request_id"] for a in finished if a["kind"] == "planned"}),
        "planned_visits_booked_later": booked_later,
        "emergencies": len(emergencies),
        "completed": len(completed),
        "failed": len(finished) - len(completed),
        "cancelled": sum(1 for e in emergencies if e["status"] == "cancelled"),
        "emergency_response_min_p50": _round(percentile(response_minutes, 50)),
        "emergency_response_min_p90": _round(percentile(response_minutes, 90)),
        "requests_kpis": kpi,
        "per_technician_km": {names.get(t, str(t)): round(km, 1) for t, km in sorted(travel_km.items(), key=str)},
        "response_minutes": [round(m, 1) for m in sorted(response_minutes)],
        # minutes after the promised ETA each arrival came (negative: before it)
        "arrival_vs_promise_min": sorted(
            round((a["on_site_at"] - a["promised_eta"]).total_seconds() / 60, 1) for a in arrivals
        ),
        "routes": {name: [(round(a, 4), round(b, 4)) for a, b in pts] for name, pts in routes.items()},
        "finished_by_hour": _by_hour(finished),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _by_hour(finished: list[dict[str, Any]]) -> dict[str, int]:
    hours: dict[str, int] = defaultdict(int)
    for a in finished:
        if a["finished_at"] is not None:
            hours[f"{(a['finished_at'] + timedelta(hours=3)).hour:02d}"] += 1
    return dict(sorted(hours.items()))
