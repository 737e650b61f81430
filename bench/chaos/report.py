"""The chaos run's results: latencies per phase, the faults injected, each invariant's count; JSON and markdown."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.chaos.load import LoadResults

__all__ = ["latency_summary", "load_summary", "write_report"]

PHASES = ("calm", "faults")


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    values = np.asarray(seconds) * 1000.0
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(values, 50)), 1),
        "p99_ms": round(float(np.percentile(values, 99)), 1),
        "max_ms": round(float(values.max()), 1),
    }


def windows(results: LoadResults, width_s: float = 10.0) -> list[dict[str, Any]]:
    """Calls by when they were due, ``width_s`` at a time: how many, the share answered 2xx/3xx, the median."""
    by_window: dict[int, list[Any]] = {}
    for sample in results.samples:
        by_window.setdefault(int(sample.at_s // width_s), []).append(sample)
    return [
        {
            "from_s": index * width_s,
            "calls": len(samples),
            "answered_ok_pct": round(
                100.0 * sum(s.status is not None and s.status < 400 for s in samples) / len(samples), 1
            ),
            "p50_ms": latency_summary([s.latency_s for s in samples])["p50_ms"],
        }
        for index, samples in sorted(by_window.items())
    ]


def load_summary(results: LoadResults, seconds: dict[str, float]) -> dict[str, Any]:
    """Per phase: calls sent and answered, the rate held, filing and POST -> technician's stream latencies, and
    every kind of call's latency and failures (no answer, 5xx, 4xx)."""
    out: dict[str, Any] = {
        "sent": results.sent,
        "stream_reconnects": results.stream_reconnects,
        "generator_loop_lag": latency_summary(results.loop_lag_s),
        "windows": windows(results),
        "phases": {},
    }
    for phase in PHASES:
        samples = [s for s in results.samples if s.phase == phase]
        if not samples or not seconds[phase]:
            continue
        filings = [s for s in samples if s.kind.startswith("file_")]
        kinds: dict[str, Any] = {}
        for kind in sorted({s.kind for s in samples}):
            of_kind = [s for s in samples if s.kind == kind]
            kinds[kind] = {
                **latency_summary([s.latency_s for s in of_kind]),
                "no_answer": sum(s.status is None for s in of_kind),
                "5xx": sum(s.status is not None and s.status >= 500 for s in of_kind),
                "4xx": sum(s.status is not None and 400 <= s.status < 500 for s in of_kind),
                "retried": sum(s.attempts > 1 for s in of_kind),
                "statuses": dict(sorted(Counter(str(s.status) for s in of_kind).items())),
            }
        out["phases"][phase] = {
            "seconds": seconds[phase],
            "calls": len(samples),
            "rate_held_per_s": round(len(samples) / seconds[phase], 1) if seconds[phase] else None,
            "filing": latency_summary([s.latency_s for s in filings if s.status is not None and s.status < 300]),
            "filings_not_accepted": sum(s.status is None or s.status >= 300 for s in filings),
            "post_to_technician_stream": latency_summary(results.stream_latencies(phase)),
            "emergencies_accepted": sum(
                1 for f in results.filed.values() if f.kind == "emergency" and f.phase == phase
            ),
            "by_kind": kinds,
        }
    return out


def _ms(summary: dict[str, Any]) -> str:
    if not summary["n"]:
        return "n = 0"
    return f"{summary['p50_ms']} / {summary['p99_ms']} / {summary['max_ms']} ms (n = {summary['n']})"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# make chaos PROFILE={report['profile']['name']}",
        "",
        f"Run {report['started_at']} on {report['machine']}; {report['wall_s']} s wall. Command: "
        f"`{report['command']}`.",
        "",
        f"Stack: {report['stack']}.",
        "",
        f"Machine load average (1 min) before the run {report['load_average']['before']}, after the load "
        f"{report['load_average']['after_load']}: the cores are shared with other work, which the latencies include.",
        "",
        "## Load (open model; latency from the scheduled send, retries to the other replica included)",
        "",
        "| phase | s | calls | rate held /s | filing p50 / p99 / max | POST -> technician's stream p50 / p99 / max |"
        " filings not accepted |",
        "|---|---|---|---|---|---|---|",
    ]
    for phase, p in report["load"]["phases"].items():
        lines.append(
            f"| {phase} | {p['seconds']} | {p['calls']} | {p['rate_held_per_s']} | {_ms(p['filing'])} | "
            f"{_ms(p['post_to_technician_stream'])} | {p['filings_not_accepted']} |"
        )
    lines += [
        "",
        f"The load generator's own event loop woke up late by {_ms(report['load']['generator_loop_lag'])} "
        "(p50 / p99 / max): that much of any latency above is the generator's, not the stack's.",
    ]
    lines += ["", "By kind of call (p50 / p99 / max; no answer, 5xx, 4xx, sent to a second replica; final statuses):"]
    lines += [
        "",
        "| phase | call | latency | no answer | 5xx | 4xx | retried | statuses |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for phase, p in report["load"]["phases"].items():
        for kind, k in p["by_kind"].items():
            statuses = ", ".join(f"{code}: {n}" for code, n in k["statuses"].items())
            lines.append(
                f"| {phase} | {kind} | {_ms(k)} | {k['no_answer']} | {k['5xx']} | {k['4xx']} | {k['retried']} | "
                f"{statuses} |"
            )
    lines += ["", "Every call by when it was due (10 s windows): calls, answered (2xx-3xx) %, median latency:", ""]
    lines += ["| from s | calls | answered % | p50 ms |", "|---|---|---|---|"]
    lines += [
        f"| {w['from_s']:g} | {w['calls']} | {w['answered_ok_pct']} | {w['p50_ms']} |"
        for w in report["load"]["windows"]
    ]
    faults = report.get("faults", [])
    lines += ["", f"## Faults injected ({len(faults)})", ""]
    if faults:
        lines += ["| at s (since the load started) | fault | target | detail |", "|---|---|---|---|"]
        lines += [f"| {f['at_s']} | {f['kind']} | {f['target']} | {f['detail']} |" for f in faults]
    invariants = report.get("invariants", {})
    lines += ["", "## Invariants after the load drained", ""]
    lines += ["| invariant | count | target | evidence |", "|---|---|---|---|"]
    for name, inv in invariants.items():
        evidence = "; ".join(str(e) for e in inv.get("evidence", [])[:3])
        lines.append(f"| {name} | {inv['count']} | {inv.get('target', '')} | {evidence} |")
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def write_report(directory: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    name = f"chaos-{report['profile']['name']}"
    as_json, as_md = directory / f"{name}.json", directory / f"{name}.md"
    as_json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    as_md.write_text(markdown(report))
    return as_json, as_md
