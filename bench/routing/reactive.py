"""python -m bench.routing.reactive --technicians 1000 --visits 10000 --emergencies 1000 --out F.json

Decision latency of the reactive insertion on a live day around the Crimean towns: one LiveDay built
from the routes (as the dispatch service keeps per plan version), then one timed decision per
emergency. Reports median, p99 and max per decision, and the build time, as JSON plus markdown.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.fieldday.generator import _near, _town
from services.dispatch.planning import (
    LiveDay,
    LiveRoute,
    LiveStop,
    RoadFactorTravel,
    UrgentJob,
    earliest_feasible_insertion,
)

from .__main__ import machine, publish, versions

H = 3600.0
M = 60.0


def live_day(technicians: int, visits: int, rng: random.Random) -> list[LiveRoute]:
    travel = RoadFactorTravel()
    per_tech = visits // technicians
    routes = []
    for t in range(technicians):
        town = _town(rng)
        home = _near(town, rng)
        skills = {"refrigeration": rng.randint(1, 3)}
        if rng.random() < 0.5:
            skills["electrical"] = rng.randint(1, 2)
        places = [_near(town, rng) for _ in range(per_tech)]
        legs = travel.durations([home, *places], [*places, home])
        clock, stops = 8 * H, []
        for k, place in enumerate(places):
            arrival = clock + float(legs[k, k])
            start = arrival + rng.choice([0.0, 0.0, 10 * M])
            latest = start + rng.choice([0.0, 30 * M, 2 * H, float("inf")])
            service = rng.choice([20, 30, 45]) * M
            stops.append(LiveStop(f"t{t}v{k}", place, arrival, start, service, latest))
            clock = start + service
        end_arrival = clock + float(legs[per_tech, per_tech])
        routes.append(
            LiveRoute(f"tech-{t:04d}", skills, home, 8 * H, tuple(stops), home, end_arrival, max(18 * H, end_arrival))
        )
    return routes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing.reactive")
    parser.add_argument("--technicians", type=int, default=1000)
    parser.add_argument("--visits", type=int, default=10000)
    parser.add_argument("--emergencies", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    routes = live_day(args.technicians, args.visits, rng)
    travel = RoadFactorTravel()
    began = time.perf_counter()
    day = LiveDay.build(routes)
    build_ms = (time.perf_counter() - began) * 1000
    latencies, placed, late = [], 0, 0
    for e in range(args.emergencies):
        now = 8 * H + rng.uniform(0, 6) * H
        job = UrgentJob(
            f"emergency-{e}",
            _near(_town(rng), rng),
            45 * M,
            sla_deadline=now + rng.choice([2, 4, 8]) * H,
            required_skills={"refrigeration": rng.randint(1, 3)},
            earliest_start=now,
        )
        began = time.perf_counter()
        decision = earliest_feasible_insertion(day, job, travel, now)
        latencies.append((time.perf_counter() - began) * 1000)
        placed += decision.best is not None
        late += decision.best is None and decision.earliest_late is not None
    ordered = np.sort(np.array(latencies))
    result: dict[str, Any] = {
        "command": "python -m bench.routing.reactive " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "technicians": args.technicians,
        "visits": len(day.slot_route) - args.technicians,
        "insertion_slots": len(day.slot_route),
        "emergencies": args.emergencies,
        "decision_ms": {
            "median": round(statistics.median(latencies), 3),
            "p99": round(float(np.percentile(ordered, 99)), 3),
            "max": round(float(ordered[-1]), 3),
        },
        "live_day_build_ms": round(build_ms, 1),
        "placed_within_sla": placed,
        "placed_only_late": late,
    }
    ms = result["decision_ms"]
    table = (
        f"# Reactive insertion: {args.technicians} technicians, {result['visits']} visits, "
        f"{args.emergencies} emergencies\n\n"
        f"Command: `{result['command']}`  \n"
        f"Machine: {result['machine']['nproc']} cores, {result['machine']['cpu']}; {result['started_at']}\n\n"
        "| decision median ms | p99 ms | max ms | LiveDay.build ms (once per plan version) | within SLA | only late |\n"
        "|---|---|---|---|---|---|\n"
        f"| {ms['median']} | {ms['p99']} | {ms['max']} | {result['live_day_build_ms']} | "
        f"{placed}/{args.emergencies} | {late} |\n"
    )
    publish(args.out, result, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
