"""Ruin-and-recreate steps per second of the compiled search, and regret insertion's time, on a Solomon
instance, R1_10_1 and the field day: ``python -m bench.routing.search_rate --out FILE.json``."""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.fieldday.generator import field_day
from bench.routing.__main__ import machine, publish, versions
from bench.routing.solvers import fieldline_options, fieldline_problem
from bench.routing.vrptw import read_instance
from services.dispatch.planning import PlanningOptions, RoadFactorTravel
from services.dispatch.planning import compiled_search as kernels
from services.dispatch.planning.instance import RoutingInstance, build_instance
from services.dispatch.planning.numpy_search import Neighbours
from services.dispatch.planning.route_evaluator import RouteEvaluator
from services.dispatch.planning.search import CompiledState, compile_search, regret_insertion

VRPTW = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "vrptw"


def measure(instance: RoutingInstance, options: PlanningOptions, steps: int, repeats: int) -> dict[str, float]:
    evaluator = RouteEvaluator(instance, options)
    construction, rates = [], []
    for seed in range(repeats):
        began = time.perf_counter()
        solution = regret_insertion(evaluator)
        construction.append(time.perf_counter() - began)
        state, near = CompiledState(evaluator, solution), Neighbours(evaluator)
        best_routes, best_lengths = state.plan.routes.copy(), state.plan.lengths.copy()
        value = state.value()
        kernels.seed_random(seed)
        began = time.perf_counter()
        kernels.search(
            state.day,
            state.plan,
            near.visits,
            near.vehicle_to_visit,
            best_routes,
            best_lengths,
            np.zeros(len(best_lengths), dtype=bool),
            value,
            value,
            steps,
            options.ruin_max_removed,
            options.ruin_threshold,
            0.0,
            options.ruin_open_route,
        )
        rates.append(steps / (time.perf_counter() - began))
    return {
        "regret_insertion_s_median": round(statistics.median(construction), 4),
        "steps_per_s_median": round(statistics.median(rates)),
        "steps": steps,
        "repeats": repeats,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing.search_rate", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    compile_search()
    days: dict[str, tuple[RoutingInstance, PlanningOptions, int]] = {}
    for name, path in (("R201", VRPTW / "solomon" / "R201.txt"), ("R1_10_1", VRPTW / "homberger" / "r1_10_1.txt")):
        vrptw = read_instance(path)
        problem, travel = fieldline_problem(vrptw)
        days[name] = (build_instance(problem, travel), fieldline_options(60, vrptw.customers), 3000)
    days["field day 120 x 1000"] = (
        build_instance(field_day(120, 1000, 1), RoadFactorTravel()),
        PlanningOptions(),
        1000,
    )
    report: dict[str, Any] = {
        "command": "python -m bench.routing.search_rate --out " + str(args.out),
        "machine": machine(),
        "versions": versions(),
        "results": {},
    }
    for name, (instance, options, steps) in days.items():
        report["results"][name] = measure(instance, options, steps, args.repeats)
    lines = [
        "# Compiled search: steps per second and regret insertion time",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['nproc']} cores, {report['machine']['cpu']}, load average at start "
        f"{report['machine']['load_average_1_5_15']}",
        "",
        f"Medians of {args.repeats} runs, one core.",
        "",
        "| day | regret insertion (s) | ruin-and-recreate steps/s |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {r['regret_insertion_s_median']} | {r['steps_per_s_median']:,} |"
        for name, r in report["results"].items()
    ]
    publish(args.out, report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
