"""`make bench-web`: the dispatcher console with a large company, in Debian's Chromium on this machine.

python -m bench.web [--technicians 120] [--jobs 1000] [--loads 7] [--updates 10]

1. A fresh stack (four services, private nats-server, fresh database) seeds the simulated company scaled up
   through the public APIs, generates its planned visits and plans the day; routine requests filed by the
   customers top the open jobs up to ``--jobs``.
2. The gateway serves the built console and the APIs on one origin, as `make run` does.
3. Chromium opens the console ``--loads`` times, each in a new context (nothing cached): time from navigation
   to every technician's row on the board (targets: usable in 2 s or less).
4. With the console open, ``--updates`` routine requests are filed one after another: time from each one's
   request.created frame reaching the page to its mark on the map (target: 200 ms or less), and from the API call
   to the screen. Then ``--updates`` position fixes, each from its technician.moved frame to the marker moving.
5. The built bundles' sizes, raw and gzipped.

Writes bench/results/web.json and bench/results/web.md (medians and spreads, the load average, the command).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from playwright.sync_api import sync_playwright

from bench.day.morning import morning
from bench.day.run import service_env
from bench.day.scenario import build_scenario
from bench.day.stack import Timeline, anchor_in, day_stack
from bench.dispatch.__main__ import percentile
from bench.routing.__main__ import machine
from bench.web.console import CHROMIUM, frames_to_screen, loads, positions_to_screen
from deploy.local.company.generator import generate_company
from deploy.local.dev_signin import auth_config_route
from deploy.local.gateway import GatewayConfig, create_app
from shared.auth import Role
from shared.settings import ServiceSettings
from tests.gateway.test_gateway import ServedApp
from tests.support.infra import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results"
APPS = ("console", "tech", "portal", "manage")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 1),
        "p90": round(percentile(ordered, 0.9), 1),
        "min": round(ordered[0], 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


def bundle_sizes() -> dict[str, dict[str, int]]:
    """Each app's built JavaScript and CSS (what a first visit downloads), raw and gzipped, in bytes."""
    sizes = {}
    for app in APPS:
        files = [p for p in (REPO_ROOT / "web" / app / "dist" / "assets").glob("*") if p.suffix in (".js", ".css")]
        raw = sum(p.stat().st_size for p in files)
        zipped = sum(len(gzip.compress(p.read_bytes(), compresslevel=6)) for p in files)
        sizes[app] = {"bytes": raw, "gzip_bytes": zipped, "files": len(files)}
    return sizes


class Filer:
    """Routine requests filed by the company's customers through the requests API, at their own sites."""

    def __init__(self, company: Any, seeded: Any, url: str, token: Any, seed: int) -> None:
        self.sites = [s for s in company.sites if s.ref in seeded.sites and s.customer_ref in seeded.customers]
        self.seeded, self.url, self.token = seeded, url, token
        self.rng = random.Random(seed)
        self.client = httpx.Client(timeout=60)

    def _key(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def file(self) -> str:
        site = self.rng.choice(self.sites)
        customer_id = uuid.UUID(self.seeded.customers[site.customer_ref])
        token = self.token(Role.CUSTOMER, f"customer-{site.customer_ref}", customer_id=customer_id)
        response = self.client.post(
            f"{self.url}/requests",
            json={
                "site_id": self.seeded.sites[site.ref],
                "kind": "routine",
                "description": "Display case not holding temperature",
                "contact": {"name": site.contact_name, "phone": site.contact_phone},
            },
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": self._key()},
        )
        response.raise_for_status()
        return str(response.json()["id"])


class Pinger:
    """Position fixes sent through the technicians' API: each technician of the board in turn, a few hundred metres
    from where the board last showed them, at the stack's clock."""

    def __init__(self, dispatch: str, token: Any, board: dict[str, Any]) -> None:
        self.dispatch, self.token = dispatch, token
        self.technicians = [t for t in board["technicians"] if t["lat"] is not None]
        self.client = httpx.Client(timeout=60)
        self.turn = 0
        self.clock_offset = datetime.fromisoformat(board["at"]) - datetime.now(UTC)  # the stack's clock - ours

    def whose(self) -> str:
        return str(self.technicians[self.turn % len(self.technicians)]["id"])

    def send(self) -> None:
        tech = self.technicians[self.turn % len(self.technicians)]
        self.turn += 1
        step = 0.002 * self.turn  # about 220 m north per turn: always a new place
        at = datetime.now(UTC) + self.clock_offset
        token = self.token(Role.TECHNICIAN, f"technician-{tech['id']}", technician_id=uuid.UUID(tech["id"]))
        response = self.client.post(
            f"{self.dispatch}/me/positions",
            json={
                "client_command_id": str(uuid.uuid4()),
                "pings": [{"at": at.isoformat(), "position": {"lat": tech["lat"] + step, "lon": tech["lon"]}}],
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()


def _open_jobs(dispatch: str, token: str) -> tuple[int, int]:
    board = httpx.get(f"{dispatch}/board", headers={"Authorization": f"Bearer {token}"}, timeout=120).json()
    return len(board["requests"]), len(board["technicians"])


def _top_up(filer: Filer, dispatch: str, token: str, jobs: int) -> int:
    have, _ = _open_jobs(dispatch, token)
    missing = max(0, jobs - have)
    _say(f"  {have} open jobs after the morning; filing {missing} routine requests")
    for _ in range(missing):
        filer.file()
    deadline = time.monotonic() + 300
    while (have := _open_jobs(dispatch, token)[0]) < jobs and time.monotonic() < deadline:
        time.sleep(2)
    return have


async def _settled(database_url: str, timeout_s: float = 900.0) -> float:
    """Seconds until no re-plan is queued and every outbox is published (the board is what it will be)."""
    conn = await asyncpg.connect(database_url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout_s:
            queued = await conn.fetchval(
                "SELECT (SELECT count(*) FROM dispatch.replan_requests)"
                " + (SELECT count(*) FROM dispatch.outbox WHERE published_at IS NULL)"
                " + (SELECT count(*) FROM requests.outbox WHERE published_at IS NULL)"
            )
            if not queued:
                break
            await asyncio.sleep(2)
    finally:
        await conn.close()
    return round(time.monotonic() - started, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--technicians", type=int, default=120)
    parser.add_argument("--customers", type=int, default=120)
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--planner-time-limit", type=float, default=20.0, help="seconds for the morning plan")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the services on the last core and Chromium on the others (as a dispatcher's PC and the servers are "
        "different machines); by default every process may run on every core",
    )
    args = parser.parse_args(argv)

    started = time.monotonic()
    company = generate_company(args.seed, customers=args.customers, sites=args.sites, technicians=args.technicians)
    scenario = build_scenario(company, args.seed)
    _say(f"bench-web: {len(company.customers)} customers, {len(company.sites)} sites, {args.technicians} technicians")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    subprocess.run([str(REPO_ROOT / "deploy" / "local" / "web.sh")], check=True)  # builds if sources changed
    with day_stack() as day:
        # mid-morning of the scenario's weekday at real speed: technicians on shift, the day planned
        timeline = Timeline(scenario.day_start + timedelta(hours=1), 1.0, anchor_in(0))
        env = service_env("fieldline", 1.0, args.planner_time_limit) | {
            "FIELDLINE_NOTIFY_SSE_MAX_PER_PRINCIPAL": "100",
            "FIELDLINE_DISPATCH_PLANNER_TIME_LIMIT_S": "5",  # the re-plans the top-up's requests queue
        }
        cores = sorted(os.sched_getaffinity(0))
        pinned = args.pin and len(cores) >= 2
        if pinned:  # the four services inherit the last core; PostgreSQL and NATS run where they were
            os.sched_setaffinity(0, cores[-1:])
        day.start(timeline, env)
        if pinned:  # Chromium and Playwright's driver inherit the others
            os.sched_setaffinity(0, cores[:-1])
        urls = day.urls()
        seeded = morning(urls, day.token, day.database_url, company, scenario)
        dispatcher = day.token(Role.DISPATCHER, "bench-dispatcher")
        filer = Filer(company, seeded, urls["requests"], day.token, args.seed)
        jobs = _top_up(filer, urls["dispatch"], dispatcher, args.jobs)
        _say(f"  waiting for the re-plans the top-up queued: {asyncio.run(_settled(day.database_url))} s")
        _, technicians = _open_jobs(urls["dispatch"], dispatcher)
        _say(f"  the board holds {jobs} open jobs and {technicians} technicians")
        settings = ServiceSettings(
            jwt_private_key_file=day.keys_dir / "jwt-private.pem", jwt_public_key_file=day.keys_dir / "jwt-public.pem"
        )
        config = GatewayConfig(upstreams=urls, web_root=REPO_ROOT / "web")
        gateway_app = create_app(config, extra_routes=[auth_config_route(settings)])
        with ServedApp(gateway_app) as gateway, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            load_average_before = [round(x, 2) for x in os.getloadavg()]
            _say(f"  {args.loads} cold loads of {gateway.url}/console/")
            cold = loads(browser, gateway.url, dispatcher, technicians, args.loads)
            _say(f"  {args.updates} routine requests filed with the console open")
            live, missed = frames_to_screen(browser, gateway.url, dispatcher, technicians, filer.file, args.updates)
            # Playwright's sync API holds this thread's event loop: the wait runs in a thread of its own
            with ThreadPoolExecutor(1) as pool:
                waited = pool.submit(asyncio.run, _settled(day.database_url)).result()
            _say(f"  waiting for the re-plans the filings queued: {waited} s")
            _say(f"  {args.updates} position fixes sent with the console open")
            board = httpx.get(
                f"{urls['dispatch']}/board", headers={"Authorization": f"Bearer {dispatcher}"}, timeout=120
            ).json()
            pinger = Pinger(urls["dispatch"], day.token, board)
            moves, unmoved = positions_to_screen(
                browser, gateway.url, dispatcher, technicians, pinger.whose, pinger.send, args.updates
            )
            load_average_after = [round(x, 2) for x in os.getloadavg()]
            browser.close()

    report = {
        "command": " ".join(["python -m bench.web", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "load_average_during": {"before": load_average_before, "after": load_average_after},
        "company": {"technicians": technicians, "open_jobs": jobs, "sites": len(company.sites)},
        "pinned": {"chromium": cores[:-1], "services": cores[-1:]} if pinned else None,
        "targets": {"usable_ms": 2000, "frame_to_screen_ms": 200},
        "usable_ms": _spread([c.usable_ms for c in cold]),
        "first_board_read_ms": _spread([c.board_ms for c in cold]),
        "board_bytes": cold[0].board_bytes if cold else 0,
        "jobs_on_map": cold[0].requests_shown if cold else 0,
        "frame_to_screen_ms": _spread([u.frame_to_screen_ms for u in live]) if live else None,
        "filed_to_screen_ms": _spread([u.api_to_screen_ms for u in live]) if live else None,
        "update_samples": {"measured": len(live), "of": args.updates, "drawn_from_the_frame": _from_frame(live)},
        "updates_not_shown_within_60_s": len(missed),
        "position_frame_to_screen_ms": _spread([m.frame_to_screen_ms for m in moves]) if moves else None,
        "ping_to_screen_ms": _spread([m.api_to_screen_ms for m in moves]) if moves else None,
        "position_samples": {"measured": len(moves), "of": args.updates, "drawn_from_the_frame": _from_frame(moves)},
        "positions_not_shown_within_60_s": len(unmoved),
        "bundles": bundle_sizes(),
        "samples": {
            "loads": [asdict(c) for c in cold],
            "updates": [asdict(u) for u in live],
            "positions": [asdict(m) for m in moves],
        },
        "wall_s": round(time.monotonic() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "web.md").write_text(markdown(report))
    _say(markdown(report))
    return 0


def _from_frame(samples: list[Any]) -> int:
    """How many changes reached the screen with no board read in between: drawn from the frame alone."""
    return sum(1 for s in samples if s.board_reads_between == 0)


def markdown(report: dict[str, Any]) -> str:
    def row(name: str, spread: dict[str, float] | None, target: str) -> str:
        if spread is None:
            return f"| {name} | no sample | | | {target} |"
        spread_text = f"{spread['min']} to {spread['max']} (n={spread['n']})"
        return f"| {name} | **{spread['median']}** | {spread['p90']} | {spread_text} | {target} |"

    company = report["company"]
    lines = [
        "# The dispatcher console at scale (`make bench-web`)",
        "",
        f"`{report['command']}` — {company['technicians']} technicians, {company['open_jobs']} open jobs "
        f"({report['jobs_on_map']} on the map), a board of {report['board_bytes'] / 1e6:.2f} MB; Chromium "
        f"{CHROMIUM}, 1366x768; {report['machine']['nproc']} cores, load average "
        f"{report['load_average_during']['before']} before and {report['load_average_during']['after']} after. "
        + (
            f"Chromium on core(s) {report['pinned']['chromium']}, the four services on {report['pinned']['services']}"
            " (PostgreSQL and NATS unpinned)."
            if report.get("pinned")
            else "Chromium and the services on every core (no --pin)."
        ),
        "",
        "| measure (ms) | median | p90 | range | target |",
        "|---|---|---|---|---|",
        row("navigation to a usable board (cold)", report["usable_ms"], "≤ 2000"),
        row("its first `GET /board`, asked to read", report["first_board_read_ms"], ""),
        row("new job: its stream frame to its mark on the map", report["frame_to_screen_ms"], "≤ 200"),
        row("new job: the API call to its mark on the map", report["filed_to_screen_ms"], ""),
        row("position: its stream frame to the marker moved", report["position_frame_to_screen_ms"], "≤ 200"),
        row("position: the API call to the marker moved", report["ping_to_screen_ms"], ""),
        "",
        "| app | files | bytes | gzip |",
        "|---|---|---|---|",
        *(f"| {app} | {s['files']} | {s['bytes']:,} | {s['gzip_bytes']:,} |" for app, s in report["bundles"].items()),
        "",
        f"New jobs measured: {_samples(report['update_samples'])}; not on screen within 60 s: "
        f"{report['updates_not_shown_within_60_s']}. Positions measured: {_samples(report['position_samples'])}; "
        f"not on screen within 60 s: {report['positions_not_shown_within_60_s']}. Whole run {report['wall_s']} s.",
        "",
    ]
    return "\n".join(lines)


def _samples(counts: dict[str, int]) -> str:
    return f"{counts['measured']} of {counts['of']} ({counts['drawn_from_the_frame']} drawn from the frame alone)"


if __name__ == "__main__":
    raise SystemExit(main())
