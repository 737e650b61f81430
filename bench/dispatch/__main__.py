"""python -m bench.dispatch [--emergencies 300] [--queries 2000] [--sites 1000000] [--baseline old.json]

Dispatch latency on real PostGIS, in a dedicated benchmark database (dropped and re-seeded each run):

1. emergency decision — from the request event in (envelope JSON parsed, processed-message row written,
   as the idempotent consumer does) to the booking committed, through the service's own EmergencyPlacer
   (PostGIS candidates, the planner's reactive insertion, booking under the constraints), with 1,000
   technicians on shift and 10,000 visits booked in the day; the heap is settled after the warm-up as the
   service's lifespan does (services.dispatch.app.settle_heap);
2. candidate query — the KNN query alone (skilled, on shift, within reach, nearest first), with 10,000
   technicians and 1,000,000 sites, origins drawn from the sites; timed inside an open transaction, as the
   service runs it (the BEGIN is not part of the query).

The machine is shared: the load average is recorded before and after each part.

Writes bench/results/dispatch.json and bench/results/dispatch.md with medians, p99 and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, select

from bench.routing.__main__ import machine
from services.dispatch.app import settle_heap
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.settings import Settings
from services.dispatch.usecases import DispatchUseCases
from shared.db import Database, create_engine
from shared.events.common import GeoPoint, SkillNeed
from shared.events.envelope import Envelope
from shared.events.registry import parse_data
from shared.events.requests import ServiceRequestCreated
from shared.migrations import migrate

TOWNS = (
    "(VALUES (44.952, 34.102), (44.616, 33.525), (44.495, 34.166), (45.357, 36.468), (45.032, 35.382), "
    "(45.190, 33.367))"
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "median_ms": round(statistics.median(samples_ms), 3),
        "p99_ms": round(percentile(samples_ms, 0.99), 3),
        "max_ms": round(max(samples_ms), 3),
    }


async def fresh_database(admin: str, name: str) -> str:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = admin.rsplit("/", 1)[0] + "/" + name
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS btree_gist")
    finally:
        await conn.close()
    return url


async def seed_technicians(conn: asyncpg.Connection, count: int, first: int) -> None:
    """`count` technicians around the Crimean towns, on shift from two hours ago for ten hours."""
    await conn.execute(f"""
        INSERT INTO dispatch.technicians (id, name, first_name, skills, home_base, position, position_at)
        SELECT gen_random_uuid(), 'Technician ' || g, 'T' || g,
               jsonb_build_object('refrigeration', 1 + (g % 4), 'electrical', 1 + (g % 3)),
               p, p, now()
        FROM (SELECT g, ST_SetSRID(ST_MakePoint(t.lon + (random() - 0.5) * 0.2, t.lat + (random() - 0.5) * 0.14),
                                   4326)::geography AS p
              FROM generate_series({first}, {first + count - 1}) g
              JOIN LATERAL (SELECT * FROM {TOWNS} AS towns(lat, lon) OFFSET (g % 6) LIMIT 1) t ON true) s""")
    await conn.execute("""
        INSERT INTO dispatch.shifts (technician_id, day, starts_at, ends_at)
        SELECT id, (now() AT TIME ZONE 'Europe/Simferopol')::date, now() - interval '2 hours',
               now() + interval '10 hours'
        FROM dispatch.technicians ON CONFLICT DO NOTHING""")


async def seed_day(conn: asyncpg.Connection, per_technician: int) -> int:
    """Each technician's day: `per_technician` accepted 40-minute visits every 55 minutes from an hour ago."""
    await conn.execute(f"""
        CREATE TEMP TABLE day_visits AS
        SELECT gen_random_uuid() AS request_id, t.id AS technician_id, k,
               ST_Project(t.position, 2000 + random() * 8000, radians(random() * 360)) AS location
        FROM dispatch.technicians t, generate_series(0, {per_technician - 1}) k""")
    await conn.execute("""
        INSERT INTO dispatch.jobs (request_id, customer_id, site_id, kind, priority, location, duration_minutes,
                                   status, window_start, window_end)
        SELECT request_id, gen_random_uuid(), gen_random_uuid(), 'planned', 'P4', location, 40, 'assigned',
               now() - interval '2 hours', now() + interval '12 hours' FROM day_visits""")
    return int(
        await conn.fetchval("""
        WITH booked AS (
          INSERT INTO dispatch.assignments (id, request_id, technician_id, customer_id, status, planned_start,
                                            planned_end, eta)
          SELECT gen_random_uuid(), request_id, technician_id, gen_random_uuid(), 'accepted',
                 now() - interval '1 hour' + k * interval '55 minutes',
                 now() - interval '1 hour' + k * interval '55 minutes' + interval '40 minutes',
                 now() - interval '1 hour' + k * interval '55 minutes'
          FROM day_visits RETURNING 1)
        SELECT count(*) FROM booked""")
    )


async def seed_sites(conn: asyncpg.Connection, count: int) -> None:
    await conn.execute(f"""
        CREATE TABLE public.bench_sites AS
        SELECT g AS id, ST_SetSRID(ST_MakePoint(t.lon + (random() - 0.5) * 0.6, t.lat + (random() - 0.5) * 0.4),
                                   4326)::geography AS location
        FROM generate_series(1, {count}) g
        JOIN LATERAL (SELECT * FROM {TOWNS} AS towns(lat, lon) OFFSET (g % 6) LIMIT 1) t ON true""")
    await conn.execute("CREATE INDEX ON public.bench_sites USING gist (location); ANALYZE public.bench_sites")


async def emergencies(
    db: Database, cases: DispatchUseCases, count: int, rng: random.Random, tables: Any
) -> tuple[list[float], int]:
    """Per emergency: envelope in → processed row + placement → commit, timed end to end."""
    samples, placed = [], 0
    towns = [(44.952, 34.102), (44.616, 33.525), (44.495, 34.166), (45.357, 36.468), (45.032, 35.382)]
    for _ in range(count):
        lat, lon = rng.choice(towns)
        now = datetime.now(UTC)
        event = ServiceRequestCreated(
            request_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            site_id=uuid.uuid4(),
            kind="emergency",
            priority="P1",
            location=GeoPoint(lat=lat + rng.uniform(-0.05, 0.05), lon=lon + rng.uniform(-0.07, 0.07)),
            required_skills=[SkillNeed(skill="refrigeration", min_level=2)],
            covered=True,
            response_due=now + timedelta(hours=4),
            estimated_duration_minutes=60,
            created_at=now,
        )
        envelope_out = Envelope(type=event.subject, occurred_at=now, data=event.model_dump(mode="json"))
        wire = envelope_out.model_dump_json().encode()
        began = time.perf_counter()
        envelope = Envelope.model_validate_json(wire)
        parsed = parse_data(envelope)
        async with db.transaction() as session:
            await session.execute(
                insert(tables.processed_messages).values(
                    consumer="dispatch-request-created", event_id=envelope.event_id
                )
            )
            await cases.placer.on_request_created(session, envelope, parsed)
        samples.append((time.perf_counter() - began) * 1000)
        async with db.transaction() as session:
            job = await DispatchRepository(session).get_job(event.request_id)
        placed += job is not None and job.status == "assigned"
    return samples, placed


async def candidate_queries(db: Database, settings: Settings, origins: list[tuple[float, float]]) -> list[float]:
    samples = []
    for lat, lon in origins:
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            await session.execute(select(1))  # the transaction is open: in the service the query runs mid-way
            began = time.perf_counter()
            await repo.candidates(
                lat, lon, {"refrigeration": 2}, datetime.now(UTC), settings.reach_km * 1000, settings.candidate_pool
            )
            samples.append((time.perf_counter() - began) * 1000)
    return samples


async def main(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    url = await fresh_database(args.admin_url, args.database)
    settings = Settings(database_url=url, db_pool_size=4)
    await asyncio.to_thread(migrate, settings, "dispatch")
    conn = await asyncpg.connect(url)
    db = Database(create_engine(settings))
    cases = DispatchUseCases.build(settings)
    from services.dispatch.db.tables import messaging

    try:
        began = time.perf_counter()
        await seed_technicians(conn, args.technicians, 1)
        visits = await seed_day(conn, args.visits // args.technicians)
        await conn.execute("ANALYZE")
        seeded_day_s = time.perf_counter() - began
        await emergencies(db, cases, 20, rng, messaging)  # warm-up: connections, plans, numpy
        settle_heap()
        load_emergencies = [os.getloadavg()[0]]
        decision_ms, placed = await emergencies(db, cases, args.emergencies, rng, messaging)
        load_emergencies.append(os.getloadavg()[0])

        began = time.perf_counter()
        await seed_technicians(conn, args.candidate_technicians - args.technicians, args.technicians + 1)
        await seed_sites(conn, args.sites)
        await conn.execute("ANALYZE")
        seeded_sites_s = time.perf_counter() - began
        picked = rng.sample(range(1, args.sites + 1), args.queries + 50)
        rows = await conn.fetch(
            "SELECT ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon "
            "FROM public.bench_sites WHERE id = ANY($1::int[])",
            picked,
        )
        origins = [(r["lat"], r["lon"]) for r in rows]
        await candidate_queries(db, settings, origins[:50])  # warm-up
        load_queries = [os.getloadavg()[0]]
        query_ms = await candidate_queries(db, settings, origins[50:])
        load_queries.append(os.getloadavg()[0])
        technicians = await conn.fetchval("SELECT count(*) FROM dispatch.technicians")
    finally:
        await conn.close()
        await db.dispose()
    return {
        "command": "python -m bench.dispatch " + " ".join(sys.argv[1:]),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "emergency_decision": {
            "technicians": args.technicians,
            "visits_in_day": visits,
            "placed": placed,
            "target_p99_ms": 50.0,
            **summary(decision_ms),
            "seed_s": round(seeded_day_s, 1),
            "load_1min_before_after": load_emergencies,
        },
        "candidate_query": {
            "technicians": technicians,
            "sites": args.sites,
            "candidate_pool": settings.candidate_pool,
            "target_p99_ms": 5.0,
            **summary(query_ms),
            "seed_s": round(seeded_sites_s, 1),
            "load_1min_before_after": load_queries,
        },
    }


def markdown(result: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    e, c = result["emergency_decision"], result["candidate_query"]

    def verdict(part: dict[str, Any]) -> str:
        return "meets" if part["p99_ms"] <= part["target_p99_ms"] else "MISSES"

    def load(part: dict[str, Any]) -> str:
        return " → ".join(f"{x:.2f}" for x in part["load_1min_before_after"])

    return "\n".join(
        [
            "# Dispatch latency",
            "",
            f"Command: `{result['command']}` — {result['at']}, {result['machine'].get('cpu')} "
            f"({result['machine'].get('nproc')} cores), shared with other work at the time.",
            "",
            "| measure | setup | n | median ms | p99 ms | max ms | target p99 | | load (1 min) before → after |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| emergency decision (event in → booking committed) | {e['technicians']} technicians, "
            f"{e['visits_in_day']} visits in the day | {e['n']} | {e['median_ms']} | {e['p99_ms']} | {e['max_ms']} | "
            f"{e['target_p99_ms']} | {verdict(e)} | {load(e)} |",
            f"| candidate query (PostGIS KNN, skills, on shift, reach) | {c['technicians']} technicians, {c['sites']} "
            f"sites | {c['n']} | {c['median_ms']} | {c['p99_ms']} | {c['max_ms']} | {c['target_p99_ms']} | "
            f"{verdict(c)} | {load(c)} |",
            "",
            f"Emergencies placed: {e['placed']} of {e['n']}.",
            "",
            *(_before_after(result, baseline) if baseline else []),
        ]
    )


def _before_after(result: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """The same measures by another build (e.g. the previous commit, run just before on the same machine)."""
    lines = [
        f"Before/after, medians and p99 in ms; before: {baseline.get('label', baseline['command'])} at "
        f"{baseline['at']}.",
        "",
        "| measure | before median | before p99 | load before | after median | after p99 | load after |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in (("emergency_decision", "emergency decision"), ("candidate_query", "candidate query")):
        old, new = baseline[key], result[key]
        old_load = old.get("load_1min_before_after") or baseline["machine"]["load_average_1_5_15"][:1]
        lines.append(
            f"| {name} | {old['median_ms']} | {old['p99_ms']} | {' → '.join(f'{x:.2f}' for x in old_load)} "
            f"| {new['median_ms']} | {new['p99_ms']} | "
            f"{' → '.join(f'{x:.2f}' for x in new['load_1min_before_after'])} |"
        )
    return [*lines, ""]


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="fieldline_bench_dispatch")
    parser.add_argument("--technicians", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--emergencies", type=int, default=300)
    parser.add_argument("--candidate-technicians", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/results/dispatch.json"))
    parser.add_argument("--baseline", type=Path, help="a result JSON of another build to set side by side")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    if baseline is not None:
        result["baseline"] = baseline
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result, baseline)
    args.out.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    cli()
