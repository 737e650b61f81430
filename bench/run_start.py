"""`make bench-run-start`: how long `make run` takes to show a company at work, first run and second run.

Runs `deploy.local.run_stack` (what `make run` runs after the bootstrap) twice against a fresh database and a
private nats-server (so the measurement starts from what a machine just bootstrapped has: empty schemas, no
streams), on the ports `make run` uses, and watches the dispatch board through the gateway as the console
would. Milestones, in real seconds from the process start:

- ``console``: the gateway serves the dispatcher console;
- ``company``: the board lists the company's technicians (25 and the demo's four);
- ``planned``: some technician has a route today;
- ``moving``: some technician is en route or on site and their status or last position changed since the run began
  (a simulated technician set off; on the second run the board first shows where the first run left everyone).

The second run reuses the first one's database and broker (`make run` again on the same checkout): the seeding
must add nothing, so each run counts the board's technicians 30 s after the last milestone. Writes
bench/results/run-start.md (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.local.gateway import gateway_port
from shared.auth import Role, mint_token
from shared.settings import REPO_ROOT, ServiceSettings, load_settings
from tests.support.infra import TEST_NATS_PASSWORDS, NatsServer, create_database, drop_database

MILESTONES = ("console", "company", "planned", "moving")
COMPANY_TECHNICIANS = 25
MOVING = frozenset({"en_route", "on_site"})


@dataclass
class Run:
    label: str
    seconds: dict[str, float] = field(default_factory=dict)
    technicians: int = 0


def _env(database_url: str, nats: NatsServer) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats.anonymous_url}
    for service in ("contracts", "requests", "dispatch", "notify"):
        env[f"FIELDLINE_{service.upper()}_NATS_USER"] = service
        env[f"FIELDLINE_{service.upper()}_NATS_PASSWORD"] = TEST_NATS_PASSWORDS[service]
    return env


def _token() -> str:
    settings = load_settings(ServiceSettings)
    return mint_token(
        settings.jwt_private_key_file.read_bytes(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject="bench-run-start",
        role=Role.DISPATCHER,
    )


def _board(http: httpx.Client, token: str) -> httpx.Response:
    """The dispatch board through the gateway, as the console reads it."""
    return http.get(
        f"http://127.0.0.1:{gateway_port()}/api/dispatch/board", headers={"Authorization": f"Bearer {token}"}
    )


def _watch(run: Run, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    gateway = f"http://127.0.0.1:{gateway_port()}"
    began = time.monotonic()
    token: str | None = None
    first_seen: dict[str, tuple[str, str | None]] = {}  # each technician's status and last ping as first seen
    with httpx.Client(timeout=5) as http:
        while len(run.seconds) < len(MILESTONES) and time.monotonic() - began < timeout_s:
            if process.poll() is not None:
                raise SystemExit(f"make run exited with {process.returncode}; see .run/logs/")
            elapsed = time.monotonic() - began
            try:
                if "console" not in run.seconds and http.get(f"{gateway}/console/").status_code == 200:
                    run.seconds["console"] = elapsed
                token = token or _token()  # run_stack makes the key pair on its first start
                answer = _board(http, token)
            except (httpx.HTTPError, OSError):
                time.sleep(0.5)
                continue
            if answer.status_code == 200:
                technicians = answer.json()["technicians"]
                for t in technicians:
                    first_seen.setdefault(t["id"], (t["reported_status"], t["position_at"]))
                reached = {
                    "company": len(technicians) >= COMPANY_TECHNICIANS,
                    "planned": any(t["route"] for t in technicians),
                    "moving": any(
                        t["reported_status"] in MOVING
                        and (t["reported_status"], t["position_at"]) != first_seen[t["id"]]
                        for t in technicians
                    ),
                }
                for name, done in reached.items():
                    if done and name not in run.seconds:
                        run.seconds[name] = elapsed
            time.sleep(0.5)


def _technicians_on_board() -> int:
    with httpx.Client(timeout=5) as http:
        answer = _board(http, _token())
    answer.raise_for_status()
    return len(answer.json()["technicians"])


def _play(label: str, env: dict[str, str], timeout_s: float) -> Run:
    run = Run(label)
    logs = REPO_ROOT / ".run" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    output = open(logs / f"run-start-{label.split()[0]}.log", "wb")  # what `make run` printed, for a look
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.local.run_stack"],
        cwd=REPO_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _watch(run, process, timeout_s)
        # the seeding may still be going when the first technician moves: count once it has surely ended
        time.sleep(30)
        run.technicians = _technicians_on_board()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        output.close()
    return run


def _report(runs: list[Run], load: tuple[float, float, float]) -> str:
    lines = [
        "# `make run`: seconds from start to a company at work (`make bench-run-start`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at the start; fresh database and private nats-server, then a second run on the same ones.",
        "Reproduce: `make bench-run-start` (stop a running `make run` first: it uses the same ports).",
        "",
        "| run | " + " | ".join(MILESTONES) + " | technicians on the board |",
        "|---|" + "---|" * (len(MILESTONES) + 1),
    ]
    for run in runs:
        cells = [f"{run.seconds[m]:.0f} s" if m in run.seconds else "not reached" for m in MILESTONES]
        lines.append(f"| {run.label} | " + " | ".join(cells) + f" | {run.technicians} |")
    moving = [r.seconds["moving"] for r in runs if "moving" in r.seconds]
    if moving:
        lines += ["", f"Median to a moving technician: {statistics.median(moving):.0f} s (target 90 s)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=300, help="give up on a milestone after this (s)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench/results/run-start.md")
    args = parser.parse_args()
    load = os.getloadavg()
    database_url = asyncio.run(create_database("fieldline_runstart"))
    with tempfile.TemporaryDirectory(prefix="fieldline-runstart-") as tmp:
        nats = NatsServer(Path(tmp))
        nats.start()
        try:
            env = _env(database_url, nats)
            runs = [_play("first (fresh)", env, args.timeout), _play("second (same database)", env, args.timeout)]
        finally:
            nats.stop()
            asyncio.run(drop_database(database_url))
    text = _report(runs, load)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
