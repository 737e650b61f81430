"""A short simulated day on the real stack: four technicians, three and a half simulated hours, emergencies filed by the
customers; the report's numbers are recomputed here from the databases with queries of this test's own.
About two minutes per policy on the two-core machine, part of `make test` (`make test-day` runs it alone). It was
kept out while the day could complete nothing on a loaded machine: drives took as long as their pings' latency and
the day could begin before the services were up (both fixed, docs/day.md)."""

from __future__ import annotations

import asyncio
import itertools
import math
from datetime import time
from pathlib import Path

import asyncpg
import pytest

from bench.day.run import play_day
from bench.day.scenario import build_scenario
from deploy.local.company.generator import generate_company
from tests.support.infra import drop_database


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


async def _recompute(url: str) -> dict[str, object]:
    conn = await asyncpg.connect(url)
    try:
        # response SLA from dispatch's side: the first on_site of an emergency's assignments against its due time
        rows = await conn.fetch(
            """
            SELECT r.id, r.response_due, r.status,
                   (SELECT min(h.at) FROM dispatch.assignment_history h
                      JOIN dispatch.assignments a ON a.id = h.assignment_id
                     WHERE a.request_id = r.id AND h.status = 'on_site') AS arrived
            FROM requests.service_requests r WHERE r.kind = 'emergency'
            """
        )
        as_of = await conn.fetchval("SELECT max(at) FROM dispatch.position_pings")
        decided = [
            r for r in rows if r["status"] != "cancelled" and (r["arrived"] is not None or r["response_due"] < as_of)
        ]
        met = sum(1 for r in decided if r["arrived"] is not None and r["arrived"] <= r["response_due"])
        pings = await conn.fetch(
            "SELECT technician_id, ST_Y(position::geometry) AS lat, ST_X(position::geometry) AS lon"
            " FROM dispatch.position_pings ORDER BY technician_id, at"
        )
        km = 0.0
        for before, after in itertools.pairwise(pings):
            if before["technician_id"] == after["technician_id"]:
                km += _km((before["lat"], before["lon"]), (after["lat"], after["lon"]))
        completed = await conn.fetchval("SELECT count(*) FROM dispatch.assignments WHERE status = 'completed'")
        # planned visits from the requests service's side: those whose timeline reached an outcome
        planned_done = await conn.fetchval(
            "SELECT count(*) FROM requests.service_requests r WHERE r.kind = 'planned' AND EXISTS ("
            " SELECT 1 FROM requests.request_timeline t"
            " WHERE t.request_id = r.id AND t.status IN ('completed', 'failed'))"
        )
        # and booked for a later local day than the one played (the day of the first position ping)
        booked_later = await conn.fetchval(
            "SELECT count(DISTINCT a.request_id) FROM dispatch.assignments a"
            " JOIN dispatch.jobs j ON j.request_id = a.request_id"
            " WHERE j.kind = 'planned' AND a.status IN ('offered', 'accepted')"
            " AND (a.planned_start AT TIME ZONE 'Europe/Simferopol')::date >"
            " (SELECT (min(at) AT TIME ZONE 'Europe/Simferopol')::date FROM dispatch.position_pings)"
        )
        cancelled = await conn.fetchval(
            "SELECT count(*) FROM requests.service_requests WHERE kind = 'emergency' AND cancelled_at IS NOT NULL"
        )
        filed = await conn.fetchval("SELECT count(*) FROM requests.service_requests WHERE kind = 'emergency'")
        csat = await conn.fetchval("SELECT avg(csat)::float FROM requests.surveys WHERE answered_at IS NOT NULL")
        # arrivals against the promise: the customer's promised ETA (requests), the arrival as dispatch recorded it
        arrivals = await conn.fetch(
            "SELECT ra.promised_eta, (SELECT min(h.at) FROM dispatch.assignment_history h"
            " WHERE h.assignment_id = ra.assignment_id AND h.status = 'on_site') AS arrived"
            " FROM requests.request_assignments ra WHERE ra.promised_eta IS NOT NULL"
        )
    finally:
        await conn.close()
    return {
        "response_sla_met_pct": round(100.0 * met / len(decided), 1) if decided else None,
        "travel_km": round(km, 1),
        "completed": completed,
        "planned_visits_done": planned_done,
        "planned_visits_booked_later": booked_later,
        "cancelled": cancelled,
        "emergencies": filed,
        "csat": csat,
        "arrival_vs_promise_min": sorted(
            (r["arrived"] - r["promised_eta"]).total_seconds() / 60 for r in arrivals if r["arrived"] is not None
        ),
    }


def _what_the_services_said(logs: Path, lines: int = 40) -> str:
    """The warnings and errors in the services' logs, for a failure's message (a day that did not play says why)."""
    said = []
    for log in sorted(logs.glob("*.log")):
        flagged = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if '"level": "WARNING"' in line or '"level": "ERROR"' in line or "Traceback" in line
        ]
        said += [f"{log.name}: {line[:300]}" for line in flagged[-lines:]]
    return "\n".join(said) or "(the services logged no warning or error)"


@pytest.mark.parametrize("policy", ["fieldline", "nearest"])
def test_a_short_day_reports_what_the_databases_hold(policy: str, tmp_path: Path) -> None:
    company = generate_company(1, customers=6, sites=30, technicians=4)
    scenario = build_scenario(
        company, 1, emergencies_per_day=10, hours=(time(8, 0), time(11, 30)), file_until=time(9, 30), sick_call=False
    )
    assert scenario.emergencies, "the scenario must file emergencies"
    run = play_day(company, scenario, policy, speed=180, planner_time_limit_s=3, workdir=tmp_path, keep_database=True)
    report = run.metrics
    url = str(report["database_url"])
    try:
        truth = asyncio.run(_recompute(url))
    finally:
        asyncio.run(drop_database(url))

    assert report["emergencies"] == truth["emergencies"] == len(scenario.emergencies)
    assert report["cancelled"] == truth["cancelled"]
    assert report["completed"] == truth["completed"]
    assert report["planned_visits_done"] == truth["planned_visits_done"]
    assert report["planned_visits_booked_later"] == truth["planned_visits_booked_later"]
    assert report["completed"] > 0, "technicians completed nothing: the day did not play\n" + _what_the_services_said(
        tmp_path / "logs"
    )
    assert report["travel_km"] == pytest.approx(truth["travel_km"], abs=0.2)
    assert report["travel_km"] > 0
    assert report["response_sla_met_pct"] == truth["response_sla_met_pct"]
    assert report["arrival_vs_promise_min"] == pytest.approx(truth["arrival_vs_promise_min"], abs=0.1)
    assert report["arrival_vs_promise_min"], "no arrival was measured against its promise"
    if truth["csat"] is not None:
        assert report["csat"] == pytest.approx(truth["csat"], abs=0.01)
