"""python -m bench.fieldday.horizon --technicians 40 --visits 1000 --days 3 --time-limit 60 --replan --out H.json

A generated three-day horizon planned two ways in the same total time (issue 17's multi-day measure):

- day by day, as the dispatch service did before the joint planning: day 0 is planned with every visit it can
  take (time limit / days), what it serves is booked, day 1 gets what is left, and so on;
- jointly (planning/horizon.py, what the scheduled planning now does): the days' problems as one problem, the
  whole time limit.

Both start from the same per-day problems in each day's own seconds (as the service's snapshots give them) and are
scored by the planner's own figures: visits served, visits left out (and their drop-penalty weight), travel.
Work is generated as in bench.fieldday's day (towns of Crimea, skills, breaks, overtime, windows, priorities);
half of it is planned maintenance due within two or three days (its windows on each day of that tolerance), the
rest customer work fixed to one day.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.routing.__main__ import machine, publish, versions
from services.dispatch.planning import (
    Plan,
    PlanningOptions,
    PlanningProblem,
    RoadFactorTravel,
    RouteAssignment,
    TimeWindow,
    Visit,
    plan_routes,
)
from services.dispatch.planning.horizon import join_days, split_plan

from .generator import H, field_day

DAY = 24 * H
WARM_UP_SECONDS = 0.2


def horizon(technicians: int, visits: int, days: int, seed: int, tolerant_share: float) -> list[PlanningProblem]:
    """Each day's problem in its own seconds: the same technicians every day, each visit on the days it may go."""
    rng = random.Random(seed)
    pool = field_day(technicians, visits, seed)
    on_day: list[list[Visit]] = [[] for _ in range(days)]
    for visit in pool.visits:
        if rng.random() < tolerant_share:
            # planned maintenance: due within two or three days, any time of the working day on each
            span = min(days, rng.choice([2, 3]))
            first = rng.randrange(days - span + 1)
            last = first + span - 1
            for day in range(first, last + 1):
                on_day[day].append(dataclasses.replace(visit, windows=(TimeWindow(8 * H, 17 * H),), sla_deadline=None))
        else:
            on_day[rng.randrange(days)].append(visit)
    return [dataclasses.replace(pool, visits=tuple(v)) for v in on_day]


def day_by_day(problems: list[PlanningProblem], time_limit: float, seed: int) -> list[Plan]:
    options = PlanningOptions(time_limit=time_limit / len(problems), seed=seed)
    served: set[str] = set()
    plans = []
    for problem in problems:
        left = dataclasses.replace(problem, visits=tuple(v for v in problem.visits if v.id not in served))
        plan = plan_routes(left, RoadFactorTravel(), options)
        served |= {s.visit_id for r in plan.routes for s in r.stops}
        plans.append(plan)
    return plans


def jointly(problems: list[PlanningProblem], time_limit: float, seed: int) -> list[Plan]:
    options = PlanningOptions(time_limit=time_limit, seed=seed)
    offsets = [k * DAY for k in range(len(problems))]
    plan = plan_routes(join_days(problems, offsets), RoadFactorTravel(), options)
    return split_plan(plan, problems, offsets, options)


def booked(problems: list[PlanningProblem], plans: list[Plan], change_budget: int) -> list[PlanningProblem]:
    """The days as the next scheduled run sees them after ``plans`` were booked: a served visit on its booked day
    alone, with each technician-day's route as the previous route (warm start, change budget); work left out on
    every day it may go."""
    served_on = {s.visit_id: k for k, plan in enumerate(plans) for r in plan.routes for s in r.stops}
    return [
        dataclasses.replace(
            problem,
            visits=tuple(v for v in problem.visits if served_on.get(v.id, k) == k),
            previous_routes=tuple(
                RouteAssignment(r.technician_id, 0, tuple(s.visit_id for s in r.stops)) for r in plan.routes
            ),
            max_moves_per_route=change_budget,
        )
        for k, (problem, plan) in enumerate(zip(problems, plans, strict=True))
    ]


def score(problems: list[PlanningProblem], plans: list[Plan], wall: float) -> dict[str, Any]:
    visits = {v.id: v for p in problems for v in p.visits}
    served = [s.visit_id for plan in plans for r in plan.routes for s in r.stops]
    assert len(served) == len(set(served)), "a visit served twice"
    left = [visits[v] for v in visits if v not in set(served)]
    penalties = PlanningOptions().drop_penalties
    return {
        "assigned": len(served),
        "unassigned": len(left),
        "unassigned_by_priority": [sum(v.priority == p for v in left) for p in sorted(penalties)],
        "priority_weighted_unassigned_h": round(sum(penalties[v.priority] for v in left) / H, 1),
        "travel_h": round(sum(plan.kpis.travel_time for plan in plans) / H, 2),
        "overtime_h": round(sum(plan.kpis.overtime for plan in plans) / H, 2),
        "sla_misses": sum(plan.kpis.sla_misses for plan in plans),
        "assigned_per_day": [sum(len(r.stops) for r in plan.routes) for plan in plans],
        "wall_s": round(wall, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fieldday.horizon")
    parser.add_argument("--technicians", type=int, default=40)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tolerant-share", type=float, default=0.5)
    parser.add_argument("--time-limit", type=float, default=60.0, help="total seconds, the same for both ways")
    parser.add_argument("--replan", action="store_true", help="then re-plan the booked joint plan both ways")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    problems = horizon(args.technicians, args.visits, args.days, args.seed, args.tolerant_share)
    # untimed: imports and the numba kernels
    small = horizon(5, 40, 2, 0, 0.5)
    jointly(small, WARM_UP_SECONDS, 0)
    day_by_day(small, WARM_UP_SECONDS, 0)

    report: dict[str, Any] = {
        "command": "python -m bench.fieldday.horizon " + " ".join(sys.argv[1:] if argv is None else argv),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(),
        "instance": {
            "technicians": args.technicians,
            "visits": args.visits,
            "days": args.days,
            "seed": args.seed,
            "tolerant_share": args.tolerant_share,
            "visit_days": [len(p.visits) for p in problems],
        },
        "time_limit_s": args.time_limit,
        "warm_up_seconds": WARM_UP_SECONDS,
        "results": {},
    }
    joint: list[Plan] = []
    for name, solve in (("day by day", day_by_day), ("jointly", jointly)):
        began = time.perf_counter()
        plans = solve(problems, args.time_limit, args.seed)
        report["results"][name] = score(problems, plans, time.perf_counter() - began)
        joint = plans
    if args.replan:
        # the next scheduled run, from the joint plan booked: re-plans (previous routes, change budget 3)
        again = booked(problems, joint, change_budget=3)
        for name, solve in (("re-plan day by day", day_by_day), ("re-plan jointly", jointly)):
            began = time.perf_counter()
            plans = solve(again, args.time_limit, args.seed)
            report["results"][name] = score(problems, plans, time.perf_counter() - began)

    rows = "\n".join(
        f"| {name} | {r['assigned']} | {r['unassigned']} | {'/'.join(map(str, r['unassigned_by_priority']))} "
        f"| {r['priority_weighted_unassigned_h']} | {r['travel_h']} | {r['overtime_h']} | {r['sla_misses']} "
        f"| {'/'.join(map(str, r['assigned_per_day']))} | {r['wall_s']} |"
        for name, r in report["results"].items()
    )
    load = report["machine"]["load_average_1_5_15"]
    table = (
        f"# Multi-day horizon: {args.technicians} technicians x {args.days} days, {args.visits} visits"
        f" (seed {args.seed}, {args.tolerant_share:.0%} tolerant over 2-3 days), {args.time_limit:g} s in all\n\n"
        f"Command: `{report['command']}`  \n"
        f"Machine: {report['machine']['nproc']} cores, load average at start {load}; {report['started_at']}  \n"
        f"Visit-days (a tolerant visit counts on each day it may go): {report['instance']['visit_days']}\n\n"
        "| planning | assigned | unassigned | unassigned P1/P2/P3/P4 | priority-weighted unassigned (h) | travel (h) "
        "| overtime (h) | SLA misses | assigned per day | wall s |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
    )
    publish(args.out, report, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
