"""python -m bench.routing --instances DIR --time-limit SECONDS --solvers fieldline,pyvrp,vroom --out FILE.json

Solves every VRPTW instance in DIR with each solver in turn (one at a time), re-checks every solution
independently, scores it against the distance-only best-known solution, writes JSON plus a markdown
table beside it (FILE.md), and prints the table.
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .solvers import SOLVERS
from .vrptw import BestKnown, check_solution, read_best_known, read_instance


def machine() -> dict[str, Any]:
    import os

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        # The machine is shared: the load at the start says how much of it the solvers really had.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def publish(out: Path, report: dict[str, Any], table: str) -> None:
    """The run as JSON in ``out``, its table beside it as .md and on standard output."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    out.with_suffix(".md").write_text(table)
    print(table)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("ortools", "pyvrp", "pyvroom", "vrplib", "numpy", "numba"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def gap(distance: float, best: BestKnown | None) -> float | None:
    if best is None or best.distance_only is None:
        return None
    return 100.0 * (distance - best.distance_only) / best.distance_only


def _cell(row: dict[str, Any]) -> str:
    if not row["feasible"]:
        return "infeasible"
    g = row["gap_pct"]
    return f"{row['distance']:.2f} ({'' if g is None else f'{g:+.2f}%, '}{row['vehicles']}v, {row['wall_time']:.1f}s)"


def markdown(report: dict[str, Any]) -> str:
    solvers = report["solvers"]
    rows = report["results"]
    lines = [
        f"# VRPTW benchmark, {report['time_limit']} s per instance and solver",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']['nproc']} cores, {report['machine']['cpu']}, load average at start "
        f"{report['machine']['load_average_1_5_15']}; {report['started_at']}  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
        "Distance (gap to distance-only BKS, vehicles, wall time); every solution re-checked independently.",
        f"Before the timed runs each solver solved the first instance once for {report.get('warm_up_seconds', 0)} s,"
        " untimed (imports; loading or compiling fieldline's numba kernels).",
        "",
        "| instance | BKS distance-only (veh) | BKS fleet-first (veh) | " + " | ".join(solvers) + " |",
        "|---|---|---|" + "---|" * len(solvers),
    ]
    for name in report["instances"]:
        by_solver = {r["solver"]: r for r in rows if r["instance"] == name}
        first = next(iter(by_solver.values()))
        do = (
            "-"
            if first["bks_distance_only"] is None
            else f"{first['bks_distance_only']} ({first['bks_distance_only_vehicles']})"
        )
        ff = (
            "-"
            if first["bks_fleet_first"] is None
            else f"{first['bks_fleet_first']} ({first['bks_fleet_first_vehicles']})"
        )
        cells = [_cell(by_solver[s]) if s in by_solver else "-" for s in solvers]
        lines.append(f"| {name} | {do} | {ff} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| solver | feasible | mean gap % | median gap % | max gap % | mean wall s |",
        "|---|---|---|---|---|---|",
    ]
    for s, summary in report["summary"].items():

        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"

        lines.append(
            f"| {s} | {summary['feasible']}/{summary['instances']} | {fmt(summary['mean_gap_pct'])} | "
            f"{fmt(summary['median_gap_pct'])} | {fmt(summary['max_gap_pct'])} | {summary['mean_wall_time']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def summarise(rows: list[dict[str, Any]], solvers: list[str]) -> dict[str, Any]:
    summary = {}
    for s in solvers:
        mine = [r for r in rows if r["solver"] == s]
        gaps = [r["gap_pct"] for r in mine if r["feasible"] and r["gap_pct"] is not None]
        summary[s] = {
            "instances": len(mine),
            "feasible": sum(r["feasible"] for r in mine),
            # A mean over a subset would flatter a solver that failed somewhere: only when all are feasible.
            "mean_gap_pct": statistics.fmean(gaps) if gaps and len(gaps) == len(mine) else None,
            "median_gap_pct": statistics.median(gaps) if gaps else None,
            "max_gap_pct": max(gaps) if gaps else None,
            "mean_wall_time": statistics.fmean(r["wall_time"] for r in mine) if mine else 0.0,
        }
    return summary


WARM_UP_SECONDS = 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, required=True, help="folder of Solomon-format .txt files")
    parser.add_argument("--time-limit", type=float, required=True, help="seconds per instance and solver")
    parser.add_argument("--solvers", default="fieldline,pyvrp,vroom")
    parser.add_argument("--out", type=Path, required=True, help="JSON file; the table goes beside it as .md")
    parser.add_argument("--only", default="", help="comma-separated instance names to run (default: all)")
    args = parser.parse_args(argv)

    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        parser.error(f"unknown solvers {unknown}; choose from {sorted(SOLVERS)}")
    only = {n.strip().upper() for n in args.only.split(",") if n.strip()}
    paths = sorted(p for p in args.instances.iterdir() if p.suffix.lower() in (".txt", ".vrptw"))
    best = read_best_known(args.instances)
    report: dict[str, Any] = {
        "command": "python -m bench.routing " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": machine(),
        "versions": versions(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "time_limit": args.time_limit,
        "solvers": solvers,
        "instances": [],
        "results": [],
    }
    chosen = [p for p in paths if not only or read_instance(p).name.upper() in only]
    if chosen:
        # Untimed, once per solver: imports, and loading (or on a fresh clone compiling) our numba kernels,
        # are start-up costs of a process, not of the first instance.
        first = read_instance(chosen[0])
        for solver in solvers:
            try:
                SOLVERS[solver](first, WARM_UP_SECONDS)
            except Exception:  # the timed run below records the error
                pass
    report["warm_up_seconds"] = WARM_UP_SECONDS
    for path in chosen:
        instance = read_instance(path)
        report["instances"].append(instance.name)
        bks = best.get(instance.name.upper())
        for solver in solvers:
            began = time.perf_counter()
            try:
                routes = SOLVERS[solver](instance, args.time_limit)
                error = ""
            except Exception as exc:  # a peer crashing is a result to record, not a reason to stop
                routes, error = [], f"{type(exc).__name__}: {exc}"
            wall = time.perf_counter() - began
            check = check_solution(instance, routes)
            row = {
                "instance": instance.name,
                "customers": instance.customers,
                "fleet": instance.fleet,
                "solver": solver,
                "time_limit": args.time_limit,
                "feasible": check.feasible,
                "errors": list(check.errors) + ([error] if error else []),
                "vehicles": check.vehicles,
                "distance": round(check.distance, 4),
                "gap_pct": None if not check.feasible else gap(check.distance, bks),
                "bks_distance_only": bks.distance_only if bks else None,
                "bks_distance_only_vehicles": bks.distance_only_vehicles if bks else None,
                "bks_distance_only_convention": bks.distance_only_convention if bks else None,
                "bks_fleet_first": bks.fleet_first if bks else None,
                "bks_fleet_first_vehicles": bks.fleet_first_vehicles if bks else None,
                "wall_time": round(wall, 3),
                "routes": routes,
            }
            report["results"].append(row)
            g = row["gap_pct"]
            print(
                f"{instance.name:10s} {solver:10s} feasible={check.feasible!s:5s} dist={check.distance:10.2f} "
                f"gap={'-' if g is None else f'{g:+.2f}%'} veh={check.vehicles} wall={wall:.2f}s",
                file=sys.stderr,
                flush=True,
            )
    report["summary"] = summarise(report["results"], solvers)
    publish(args.out, report, markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
