"""`make day`: play the simulated day headless under one or both dispatch policies and write the report.

python -m bench.day --seed 1 --policy both [--speed 120] [--emergencies 30] [--out reports/day-1]
"""

from __future__ import annotations

import argparse
import sys
import time as clock_time
from datetime import time
from pathlib import Path
from typing import Any

from bench.day.report import write_report
from bench.day.run import play_day
from bench.day.scenario import build_scenario
from deploy.local.company.generator import generate_company


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.day", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", choices=("fieldline", "nearest", "both"), default="both")
    parser.add_argument("--speed", type=float, default=120.0, help="simulated seconds per real second")
    parser.add_argument("--emergencies", type=float, default=30.0, help="emergencies per day (Poisson rate)")
    parser.add_argument("--technicians", type=int, default=25)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--sites", type=int, default=300)
    parser.add_argument("--planner-time-limit", type=float, default=20.0, help="seconds for the morning plan")
    parser.add_argument(
        "--replan-time-limit", type=float, default=1.0, help="real seconds per re-plan during the simulated day"
    )
    parser.add_argument("--start", type=time.fromisoformat, default=time(7, 30), help="local time the day starts")
    parser.add_argument("--end", type=time.fromisoformat, default=time(19, 0), help="local time the player stops")
    parser.add_argument("--file-until", type=time.fromisoformat, default=time(17, 0), help="last emergency filed")
    parser.add_argument("--out", type=Path, default=None, help="default: reports/day-<seed>")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep each policy's database for a look afterwards (its URL is in report.json)",
    )
    args = parser.parse_args(argv)

    started = clock_time.monotonic()
    company = generate_company(args.seed, customers=args.customers, sites=args.sites, technicians=args.technicians)
    scenario = build_scenario(
        company,
        args.seed,
        emergencies_per_day=args.emergencies,
        hours=(args.start, args.end),
        file_until=args.file_until,
    )
    print(
        f"day {scenario.day} seed {args.seed}: {len(company.customers)} customers, {len(company.sites)} sites, "
        f"{len(company.equipment)} units, {len(company.technicians)} technicians, "
        f"{len(scenario.emergencies)} emergencies; {scenario.sick_technician} calls in sick at 10:00",
        file=sys.stderr,
        flush=True,
    )
    policies = ["fieldline", "nearest"] if args.policy == "both" else [args.policy]
    results: dict[str, dict[str, Any]] = {}
    walls: dict[str, float] = {}
    for policy in policies:
        run = play_day(
            company,
            scenario,
            policy,
            speed=args.speed,
            planner_time_limit_s=args.planner_time_limit,
            replan_time_limit_s=args.replan_time_limit,
            keep_database=args.keep_database,
        )
        results[policy] = run.metrics
        walls[policy] = run.wall_s
    report = {
        "seed": args.seed,
        "scenario": {
            "day": scenario.day.isoformat(),
            "customers": len(company.customers),
            "sites": len(company.sites),
            "units": len(company.equipment),
            "technicians": len(company.technicians),
            "emergencies_per_day": args.emergencies,
            "emergencies_filed": len(scenario.emergencies),
            "sick_call": scenario.sick_technician,
            "speed": args.speed,
            "replan_time_limit_s": args.replan_time_limit,
        },
        "wall_s": round(clock_time.monotonic() - started, 1),
        "wall_s_by_policy": walls,
        "policies": results,
    }
    out = args.out or Path("reports") / f"day-{args.seed}"
    write_report(out, report)
    for policy, m in results.items():
        print(
            f"{policy:>9}: response SLA {m['response_sla_met_pct']}% · fix SLA {m['fix_sla_met_pct']}% · "
            f"{m['travel_km']} km · p50 {m['emergency_response_min_p50']} min · completed {m['completed']}",
            file=sys.stderr,
        )
    print(f"wrote {out / 'report.json'} and {out / 'report.html'} in {report['wall_s']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
