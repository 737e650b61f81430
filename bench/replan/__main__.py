"""python -m bench.replan --technicians 120 --visits 1000 --seeds 1,2,3 --out bench/results/replan-120x1000.json

A re-plan of a field day after a tenth of its visits changed, against a fresh plan of the changed day.

Per seed: plan the generated day fresh (``--first-limit`` s) and promise each served visit its start; change
``--change`` of the visits (a third cancelled, a third new, a third given another window); re-plan from the
first plan's routes in ``--replan-limit`` s as the dispatch service does (previous routes, the change budget,
locked bookings pinned to their technician, order and time, the first stop of some routes committed: frozen,
each kept promise a window of +-``--tolerance-minutes`` around it); and plan the same changed day fresh
(``--fresh-limit`` s, no previous routes or budget, the same pins and promises). Quality is the planner's
objective (travel + priority-weighted drops + SLA lateness + overtime, seconds); the ratio is re-plan / fresh.
``--before`` also re-plans on the path re-plans took before the compiled search handled them (OR-Tools' model
and its decomposition), for comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from bench.fieldday.generator import field_day
from bench.routing.__main__ import machine, publish, versions
from services.dispatch.planning import (
    Pin,
    Plan,
    PlanningOptions,
    PlanningProblem,
    RoadFactorTravel,
    TimeWindow,
    Visit,
    plan_routes,
    solver,
)

H = 3600.0
SLOTS = ((8 * H, 12 * H), (12 * H, 16 * H), (9 * H, 13 * H), (13 * H, 17 * H))
LOCKED_SHARE = 0.05  # of the kept, served visits: bookings a dispatcher locked (technician, order, time)
COMMITTED_SHARE = 0.10  # of the routes: the first stop committed (frozen at the head, at its time)


@dataclasses.dataclass(frozen=True, slots=True)
class Changed:
    problem: PlanningProblem  # the re-plan: previous routes, budget, pins, promises as windows
    promised: dict[str, float]  # kept visit -> promised start (s)
    counts: dict[str, int]


def change_day(day: PlanningProblem, first: Plan, share: float, tolerance: float, budget: int, seed: int) -> Changed:
    rng = random.Random(seed * 7919)
    starts = {s.visit_id: s.start for r in first.routes for s in r.stops}
    changed = rng.sample(range(len(day.visits)), round(share * len(day.visits)))
    cancelled = {day.visits[k].id for k in changed[0::3]}
    moved = {day.visits[k].id for k in changed[1::3]}
    arrivals = len(changed[2::3])
    fresh_work = field_day(1, arrivals, seed + 1000).visits
    visits: list[Visit] = []
    promised: dict[str, float] = {}
    for v in day.visits:
        if v.id in cancelled:
            continue
        if v.id in moved:  # the customer asked for another window: no promise to keep
            visits.append(dataclasses.replace(v, windows=(TimeWindow(*rng.choice(SLOTS)),)))
            continue
        if v.id in starts:
            promise = starts[v.id]
            promised[v.id] = promise
            low, high = promise - tolerance, promise + tolerance
            windows = [TimeWindow(max(w.start, low), min(w.end, high)) for w in v.windows] or [TimeWindow(low, high)]
            v = dataclasses.replace(v, windows=tuple(w for w in windows if w.start <= w.end))
        visits.append(v)
    visits += [dataclasses.replace(v, id=f"new-{v.id}") for v in fresh_work]
    pins: list[Pin] = []
    for route in first.routes:
        committed = rng.random() < COMMITTED_SHARE
        position = 0
        for i, stop in enumerate(route.stops):
            if stop.visit_id not in promised:
                continue
            frozen = committed and i == 0
            if frozen or rng.random() < LOCKED_SHARE:
                pins.append(Pin(stop.visit_id, route.technician_id, 0, position, stop.start, frozen=frozen))
                position += 1
    problem = PlanningProblem(
        day.technicians, tuple(visits), tuple(pins), first.route_assignments(), max_moves_per_route=budget
    )
    counts = {
        "cancelled": len(cancelled),
        "new": arrivals,
        "window_moved": len(moved),
        "promised": len(promised),
        "pinned": len(pins),
        "frozen": sum(p.frozen for p in pins),
    }
    return Changed(problem, promised, counts)


def broken_promises(plan: Plan, promised: dict[str, float], tolerance: float) -> dict[str, int]:
    starts = {s.visit_id: s.start for r in plan.routes for s in r.stops}
    late_or_early = sum(1 for v, p in promised.items() if v in starts and abs(starts[v] - p) > tolerance + 1.0)
    return {"broken": late_or_early, "dropped": sum(1 for v in promised if v not in starts)}


def summary(plan: Plan, wall: float) -> dict[str, Any]:
    k = plan.kpis
    return {
        "objective": round(k.objective),
        "assigned": k.assigned,
        "unassigned": k.unassigned,
        "weighted_unassigned_h": round(k.unassigned_priority_weight / H, 1),
        "travel_h": round(k.travel_time / H, 2),
        "overtime_h": round(k.overtime / H, 2),
        "sla_misses": k.sla_misses,
        "wall_s": round(wall, 2),
    }


def timed(problem: PlanningProblem, limit: float) -> tuple[Plan, float]:
    began = time.perf_counter()
    plan = plan_routes(problem, RoadFactorTravel(), PlanningOptions(time_limit=limit))
    return plan, time.perf_counter() - began


def replan_before(problem: PlanningProblem, limit: float) -> tuple[Plan, float]:
    """The re-plan on the path it took before: OR-Tools' model (the decomposition above 400 visits)."""
    with mock.patch.object(solver, "compiled_fits", lambda evaluator: False):
        return timed(problem, limit)


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    tolerance = args.tolerance_minutes * 60.0
    day = field_day(args.technicians, args.visits, seed)
    first, first_wall = timed(day, args.first_limit)
    changed = change_day(day, first, args.change, tolerance, args.budget, seed)
    replan, replan_wall = timed(changed.problem, args.replan_limit)
    fresh_problem = dataclasses.replace(changed.problem, previous_routes=(), max_moves_per_route=None)
    fresh, fresh_wall = timed(fresh_problem, args.fresh_limit)
    row: dict[str, Any] = {
        "seed": seed,
        "changes": changed.counts,
        "first": summary(first, first_wall),
        "fresh": summary(fresh, fresh_wall),
        "replan": {**summary(replan, replan_wall), **broken_promises(replan, changed.promised, tolerance)},
        "ratio": round(replan.kpis.objective / fresh.kpis.objective, 4),
    }
    if args.before:
        before, before_wall = replan_before(changed.problem, args.replan_limit)
        row["before"] = {**summary(before, before_wall), **broken_promises(before, changed.promised, tolerance)}
        row["ratio_before"] = round(before.kpis.objective / fresh.kpis.objective, 4)
    print(f"seed {seed}: {row}", file=sys.stderr, flush=True)
    return row


def table(report: dict[str, Any]) -> str:
    a = report["args"]
    rows = report["results"]
    lines = [
        f"# Re-plan of a {a['technicians']} x {a['visits']} field day after {a['change']:.0%} of the visits changed",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['nproc']} cores, {report['machine']['cpu']}, load average at start "
        f"{report['machine']['load_average_1_5_15']}; {report['started_at']}  ",
        f"First plan {a['first_limit']} s; re-plan {a['replan_limit']} s from its routes (change budget "
        f"{a['budget']}, pins, frozen heads, promises +-{a['tolerance_minutes']} min); fresh plan of the changed day "
        f"{a['fresh_limit']} s (same pins and promises, no previous routes or budget). Objective: travel + "
        "priority-weighted drops + SLA lateness + overtime, in seconds; ratio = re-plan / fresh.",
        "",
        "| seed | changes (cancel/new/window) | pinned (frozen) | fresh objective | re-plan objective | ratio | "
        "re-plan wall s | promises broken / dropped (of kept) | re-plan assigned / travel h | fresh assigned / "
        "travel h |" + (" before: ratio, wall s, broken |" if a["before"] else ""),
        "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if a["before"] else ""),
    ]
    for r in rows:
        c, re, fr = r["changes"], r["replan"], r["fresh"]
        line = (
            f"| {r['seed']} | {c['cancelled']}/{c['new']}/{c['window_moved']} | {c['pinned']} ({c['frozen']}) | "
            f"{fr['objective']} | {re['objective']} | {r['ratio']:.4f} | {re['wall_s']} | "
            f"{re['broken']} / {re['dropped']} (of {c['promised']}) | {re['assigned']} / {re['travel_h']} | "
            f"{fr['assigned']} / {fr['travel_h']} |"
        )
        if a["before"]:
            b = r["before"]
            line += f" {r['ratio_before']:.4f}, {b['wall_s']}, {b['broken']} / {b['dropped']} |"
        lines.append(line)
    m = report["medians"]
    lines += [
        "",
        f"Medians over {len(rows)} seeds: ratio {m['ratio']:.4f}, re-plan wall {m['replan_wall_s']} s, promises "
        f"broken {m['broken']}, dropped {m['dropped']}"
        + (f"; before: ratio {m['ratio_before']:.4f}, wall {m['before_wall_s']} s" if a["before"] else "")
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replan")
    parser.add_argument("--technicians", type=int, default=120)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--change", type=float, default=0.1)
    parser.add_argument("--first-limit", type=float, default=60.0)
    parser.add_argument("--fresh-limit", type=float, default=60.0)
    parser.add_argument("--replan-limit", type=float, default=10.0)
    parser.add_argument("--tolerance-minutes", type=float, default=30.0)
    parser.add_argument("--budget", type=int, default=3)  # the dispatch service's change_budget default
    parser.add_argument("--before", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "command": "python -m bench.replan " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": [],
    }
    # Untimed: imports and loading (or compiling) the numba kernels are the process's start-up, not the day's.
    timed(field_day(5, 40, 1), 0.2)
    for seed in (int(s) for s in args.seeds.split(",")):
        report["results"].append(run_seed(args, seed))
    rows = report["results"]
    medians = {
        "ratio": statistics.median(r["ratio"] for r in rows),
        "replan_wall_s": statistics.median(r["replan"]["wall_s"] for r in rows),
        "broken": statistics.median(r["replan"]["broken"] for r in rows),
        "dropped": statistics.median(r["replan"]["dropped"] for r in rows),
    }
    if args.before:
        medians["ratio_before"] = statistics.median(r["ratio_before"] for r in rows)
        medians["before_wall_s"] = statistics.median(r["before"]["wall_s"] for r in rows)
    report["medians"] = medians
    publish(args.out, report, table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
