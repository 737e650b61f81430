"""python -m bench.contracts_import [--rows 50000] [--runs 3] [--out bench/results/contracts-import.json]

Times the contracts service's CSV import through its HTTP API (multipart upload, in-process app with its
lifespan, a fresh PostGIS database, a private nats-server): per run, a dry run of the customers file,
then customers, sites and equipment files of `--rows` rows each. Writes JSON plus a markdown table beside
it with the median of the runs, and prints the table. The target is 50,000 rows in under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

TARGET_S = 60.0
STEPS = ("customers (dry run)", "customers", "sites", "equipment")


def _files(rows: int, run: int) -> dict[str, str]:
    """Three CSV files of `rows` rows each whose references hold together; unique per run."""
    tag = f"R{run}"
    customers = ["external_ref,name"] + [f"{tag}-C{n},Customer {n} of run {run}" for n in range(rows)]
    sites = ["external_ref,customer_ref,name,address,lat,lon,access_hours"] + [
        f'{tag}-S{n},{tag}-C{n},Shop {n},"Lenina St {n}, Simferopol",{44.4 + (n % 1000) / 1000:.4f},'
        f"{33.4 + (n % 3000) / 1000:.4f},mon-fri 08:00-20:00; sat 10:00-14:00"
        for n in range(rows)
    ]
    equipment = ["site_ref,equipment_type,model,serial,installed_on,warranty_ends_on,skills"] + [
        f"{tag}-S{n},cold_room,Polair KXH-{n % 9},{tag}-SN{n:07d},2024-04-01,2027-04-01,refrigeration:2;electrical"
        for n in range(rows)
    ]
    return {
        name: "\n".join(lines) + "\n"
        for name, lines in (("customers", customers), ("sites", sites), ("equipment", equipment))
    }


async def _timed_upload(
    client: httpx.AsyncClient, headers: dict[str, str], kind: str, content: bytes, dry_run: bool, expected_rows: int
) -> float:
    started = time.perf_counter()
    response = await client.post(
        f"/imports/{kind}",
        params={"dry_run": str(dry_run).lower()},
        headers=headers,
        files={"file": (f"{kind}.csv", content, "text/csv")},
    )
    elapsed = time.perf_counter() - started
    report = response.json()
    if response.status_code != 200 or report["rows"] != expected_rows or report["errors"]:
        raise SystemExit(f"{kind} import failed: {response.status_code} {str(report)[:500]}")
    if not dry_run and report["imported"] != expected_rows:
        raise SystemExit(f"{kind}: imported {report['imported']} of {expected_rows}")
    return elapsed


async def _bench(rows: int, runs: int) -> list[dict[str, float]]:
    from services.contracts.app import create_app
    from services.contracts.settings import Settings
    from shared.auth import Role
    from shared.migrations import migrate
    from tests.conftest import Keys
    from tests.support.apps import running_app, service_settings
    from tests.support.infra import NatsServer, create_database, drop_database

    database_url = await create_database("fieldline_bench")
    with tempfile.TemporaryDirectory() as scratch:
        nats = NatsServer(store=Path(scratch))
        nats.start()
        try:
            keys = Keys(Path(scratch))
            settings = service_settings(Settings, database_url, nats.url, Path(scratch), visit_sweep_interval_s=0)
            await asyncio.to_thread(migrate, settings, "contracts")
            app = create_app(settings)
            headers = keys.headers(Role.CONTRACT_MANAGER)
            results = []
            async with running_app(app) as client:
                client.timeout = httpx.Timeout(600)
                for run in range(runs):
                    files = {k: v.encode() for k, v in _files(rows, run).items()}
                    timing = {
                        "customers (dry run)": await _timed_upload(
                            client, headers, "customers", files["customers"], True, rows
                        ),
                        "customers": await _timed_upload(client, headers, "customers", files["customers"], False, rows),
                        "sites": await _timed_upload(client, headers, "sites", files["sites"], False, rows),
                        "equipment": await _timed_upload(client, headers, "equipment", files["equipment"], False, rows),
                    }
                    print(f"run {run + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in timing.items()), flush=True)
                    results.append(timing)
        finally:
            nats.stop()
            await drop_database(database_url)
    return results


def _table(rows: int, results: list[dict[str, float]]) -> tuple[str, dict[str, Any]]:
    medians = {step: statistics.median(r[step] for r in results) for step in STEPS}
    lines = [
        f"| file ({rows:,} rows) | median s | rows/s | runs (s) | under {TARGET_S:.0f} s |",
        "|---|---:|---:|---|---|",
    ]
    for step in STEPS:
        runs = ", ".join(f"{r[step]:.2f}" for r in results)
        ok = "yes" if medians[step] < TARGET_S else "NO"
        lines.append(f"| {step} | {medians[step]:.2f} | {rows / medians[step]:,.0f} | {runs} | {ok} |")
    return "\n".join(lines), medians


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.contracts_import")
    parser.add_argument("--rows", type=int, default=50_000, help="rows per file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/results/contracts-import.json"))
    args = parser.parse_args(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = asyncio.run(_bench(args.rows, args.runs))
    table, medians = _table(args.rows, results)
    command = "python -m bench.contracts_import " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = {
        "command": command.strip(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows_per_file": args.rows,
        "runs": results,
        "median_s": medians,
        "target_s": TARGET_S,
        "machine": {
            "nproc": os.cpu_count(),
            "load_average_1_5_15_at_start": load_before,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "what": "HTTP multipart upload to the in-process contracts app; real PostGIS and nats-server; "
        "each file parsed row by row, COPYed to a staging table, checked in SQL, moved in one transaction",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    markdown = (
        f"# Contracts CSV import\n\n`{report['command']}` ({report['at']}, {os.cpu_count()} cores, "
        f"load {load_before} at start; shared machine)\n\n{table}\n\n{report['what']}.\n"
    )
    args.out.with_suffix(".md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
