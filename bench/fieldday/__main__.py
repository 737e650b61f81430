"""python -m bench.fieldday --technicians 120 --visits 1000 --seed 1 --time-limit 60 --out F.json

Plans one generated field-service day with each solver in turn, scores every plan with the same
evaluator (same travel matrix, same priority weights), writes JSON plus a markdown table (F.md).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.routing.__main__ import machine, publish, versions
from services.dispatch.planning import PlanningOptions, PlanningProblem, Priority, RoadFactorTravel, plan_routes

from .generator import field_day

Assignment = dict[str, list[str]]  # technician id -> visit ids in order
TOLERANCE = 1.0  # seconds: VROOM works in whole seconds


def _points(problem: PlanningProblem) -> tuple[list[Any], dict[str, int], dict[str, int]]:
    points: list[Any] = []
    home: dict[str, int] = {}
    where: dict[str, int] = {}
    for t in problem.technicians:
        home[t.id] = len(points)
        points.append(t.home)
    for v in problem.visits:
        where[v.id] = len(points)
        points.append(v.location)
    return points, home, where


def solve_fieldline(problem: PlanningProblem, time_limit: float) -> Assignment:
    plan = plan_routes(problem, RoadFactorTravel(), PlanningOptions(time_limit=time_limit))
    return {r.technician_id: [s.visit_id for s in r.stops] for r in plan.routes}


def solve_vroom(problem: PlanningProblem, time_limit: float) -> Assignment:
    import vroom

    points, home, where = _points(problem)
    matrix = np.ceil(RoadFactorTravel().durations(points, points)).astype(np.uint32)
    problem_in = vroom.Input()
    problem_in.set_durations_matrix(profile="car", matrix_input=matrix)
    skill_ids: dict[tuple[str, int], int] = {}

    def skill(name: str, level: int) -> int:
        return skill_ids.setdefault((name, level), len(skill_ids) + 1)

    # A technician at level 3 holds the skills "level >= 1", ">= 2" and ">= 3".
    penalties = PlanningOptions().drop_penalties
    top = max(penalties.values())
    for k, t in enumerate(problem.technicians):
        shift = t.shifts[0]
        breaks = [
            vroom.Break(
                b, time_windows=[vroom.TimeWindow(int(r.earliest_start), int(r.latest_start))], service=int(r.duration)
            )
            for b, r in enumerate(shift.breaks)
        ]
        problem_in.add_vehicle(
            vroom.Vehicle(
                k,
                start=home[t.id],
                end=home[t.id],
                skills={skill(s, lvl) for s, level in t.skills.items() for lvl in range(1, level + 1)},
                time_window=vroom.TimeWindow(int(shift.start), int(shift.end + shift.overtime_limit)),
                breaks=breaks,
            )
        )
    for k, v in enumerate(problem.visits):
        windows = [vroom.TimeWindow(int(w.start), int(w.end)) for w in v.windows]
        problem_in.add_job(
            vroom.Job(
                k,
                location=where[v.id],
                default_service=int(v.service_duration),
                skills={skill(s, lvl) for s, lvl in v.required_skills.items()},
                # VROOM's priorities 0-100, in the same proportions as our drop penalties.
                priority=round(100 * penalties[v.priority] / top),
                time_windows=windows,
            )
        )
    solution = problem_in.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit))
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    return {
        problem.technicians[int(vid)].id: [problem.visits[int(j)].id for j in group["id"]]
        for vid, group in jobs.groupby("vehicle_id", sort=True)
    }


SOLVERS: dict[str, Callable[[PlanningProblem, float], Assignment]] = {
    "fieldline": solve_fieldline,
    "vroom": solve_vroom,
}


def evaluate(problem: PlanningProblem, assignment: Assignment) -> dict[str, Any]:
    """Same yardstick for every solver: travel on one matrix, drops weighted by priority, and a check
    of skills, windows and the hard end of the shift (breaks left out: they only ever delay)."""
    points, home, where = _points(problem)
    travel = RoadFactorTravel().durations(points, points)
    techs = {t.id: t for t in problem.technicians}
    visits = {v.id: v for v in problem.visits}
    penalties = PlanningOptions().drop_penalties
    errors: list[str] = []
    total = 0.0
    sla_misses = 0
    served: set[str] = set()
    for tid, route in assignment.items():
        tech, shift = techs[tid], techs[tid].shifts[0]
        clock, here = shift.start, home[tid]
        for vid in route:
            visit = visits[vid]
            if vid in served:
                errors.append(f"{vid} served twice")
            served.add(vid)
            if any(tech.skills.get(s, -1) < lvl for s, lvl in visit.required_skills.items()):
                errors.append(f"{tid} lacks the skills for {vid}")
            leg = float(travel[here, where[vid]])
            total += leg
            arrival = clock + leg
            windows = [(w.start, w.end) for w in visit.windows] or [(shift.start, math.inf)]
            starts = [max(arrival, a) for a, b in windows if max(arrival, a) <= b + TOLERANCE]
            if not starts:
                errors.append(f"{vid} missed its windows (arrives {arrival / 3600:.2f} h)")
                starts = [arrival]
            start = min(starts)
            if visit.sla_deadline is not None and start > visit.sla_deadline + TOLERANCE:
                sla_misses += 1
            clock, here = start + visit.service_duration, where[vid]
        back = float(travel[here, home[tid]])
        total += back
        if clock + back > shift.end + shift.overtime_limit + TOLERANCE:
            errors.append(f"{tid} back at {(clock + back) / 3600:.2f} h, after the hard end")
    dropped = [v for v in problem.visits if v.id not in served]
    return {
        "feasible": not errors,
        "errors": errors[:20],
        "assigned": len(served),
        "unassigned": len(dropped),
        "unassigned_by_priority": {p.name: sum(1 for v in dropped if v.priority == p) for p in Priority},
        "unassigned_priority_weight": sum(penalties[v.priority] for v in dropped),
        "travel_hours": round(total / 3600.0, 2),
        "sla_misses": sla_misses,
        "technicians_used": sum(1 for r in assignment.values() if r),
    }


WARM_UP_SECONDS = 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fieldday")
    parser.add_argument("--technicians", type=int, default=120)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--solvers", default="fieldline,vroom")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    problem = field_day(args.technicians, args.visits, args.seed)
    report: dict[str, Any] = {
        "command": "python -m bench.fieldday " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "day": {"technicians": args.technicians, "visits": args.visits, "seed": args.seed},
        "time_limit": args.time_limit,
        "results": [],
    }
    small = field_day(5, 40, args.seed)
    for name in args.solvers.split(","):
        # Untimed, once per solver on a small day: imports, and loading (or on a fresh clone compiling)
        # our numba kernels, are start-up costs of a process, not of the day.
        SOLVERS[name](small, WARM_UP_SECONDS)
    report["warm_up_seconds"] = WARM_UP_SECONDS
    for name in args.solvers.split(","):
        began = time.perf_counter()
        assignment = SOLVERS[name](problem, args.time_limit)
        wall = time.perf_counter() - began
        row = {"solver": name, "wall_time": round(wall, 2), **evaluate(problem, assignment), "routes": assignment}
        report["results"].append(row)
        print(f"{name}: {json.dumps({k: v for k, v in row.items() if k != 'routes'})}", file=sys.stderr, flush=True)
    lines = [
        f"# Field-service day: {args.technicians} technicians, {args.visits} visits (seed {args.seed}), "
        f"{args.time_limit} s",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['nproc']} cores, {report['machine']['cpu']}, load average at start "
        f"{report['machine']['load_average_1_5_15']}; {report['started_at']}  ",
        f"Before the timed runs each solver planned a day of 5 technicians and 40 visits for {WARM_UP_SECONDS} s,"
        " untimed (imports; loading or compiling fieldline's numba kernels).",
        "",
        "| solver | feasible | assigned | unassigned P1/P2/P3/P4 | priority-weighted unassigned (h) | "
        "travel (h) | SLA misses | technicians | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        by = r["unassigned_by_priority"]
        lines.append(
            f"| {r['solver']} | {r['feasible']} | {r['assigned']} | {by['P1']}/{by['P2']}/{by['P3']}/{by['P4']} | "
            f"{r['unassigned_priority_weight'] / 3600:.0f} | {r['travel_hours']} | {r['sla_misses']} | "
            f"{r['technicians_used']} | {r['wall_time']} |"
        )
    publish(args.out, report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
