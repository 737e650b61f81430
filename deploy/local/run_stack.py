"""`make run`: migrate, start the four services, seed demo data, print how to use them; Ctrl-C stops all.

By default the services run on a simulated timeline (FIELDLINE_DEMO_SPEED, default 60x, from 07:00 of the
next weekday, or of the weekday after the last one played on this database) with the generated refrigeration
company (deploy/local/company/) and a day playing live: the morning plan, technicians driving and reporting,
emergencies filed by customers (bench/day/player.py).
FIELDLINE_DEMO=empty starts the services on the real clock with the small demo data set only.

Expects DATABASE_URL, NATS_URL and FIELDLINE_<SVC>_NATS_USER/_PASSWORD in the environment (bootstrap writes
them to .run/env); each service process gets only its own NATS user.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx

from deploy.local.gateway import gateway_port
from deploy.local.mail_catcher import mail_catcher_port
from deploy.local.seed import seed
from shared.auth import Role, ensure_local_keypair, mint_token
from shared.clock import SimulatedClock, SystemClock, wall_time
from shared.db_roles import ensure_roles, service_role_urls
from shared.migrations import SERVICES, migrate_services, service_settings_class
from shared.settings import REPO_ROOT, ServiceSettings, load_settings

RUN_DIR = REPO_ROOT / ".run"


def _service_urls() -> dict[str, str]:
    """Each service's URL from its own settings (its port default, or FIELDLINE_<SERVICE>_PORT)."""
    return {name: f"http://127.0.0.1:{load_settings(service_settings_class(name)).port}" for name in SERVICES}


def _wait_ready(urls: dict[str, str], processes: dict[str, subprocess.Popen[bytes]], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    pending = set(urls)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            if processes[name].poll() is not None:
                raise SystemExit(f"{name} exited with {processes[name].returncode}; see .run/logs/{name}.log")
            try:
                if httpx.get(f"{urls[name]}/readyz", timeout=1).status_code == 200:
                    pending.discard(name)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"not ready after {timeout_s:.0f}s: {', '.join(sorted(pending))}; see .run/logs/")


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for name, process in processes.items():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in 15 s; killing it", file=sys.stderr)
            process.kill()


def _demo_day(database_url: str) -> date:
    """The next weekday (today if it is one), or the weekday after the last day an earlier run played on this database:
    a second `make run` plays the company's next working day rather than replaying one whose records (steps, pings)
    already run ahead of the new clock, which the services refuse as out of order."""
    day = SystemClock().now().date()
    played = asyncio.run(_last_played_day(database_url))
    if played is not None and played >= day:
        day = played + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def _last_played_day(database_url: str) -> date | None:
    """The (UTC) day of the last position ping dispatch holds; None on a database not migrated or never played."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if await conn.fetchval("SELECT to_regclass('dispatch.position_pings')") is None:
            return None
        last: datetime | None = await conn.fetchval("SELECT max(at) FROM dispatch.position_pings")
    finally:
        await conn.close()
    return None if last is None else last.astimezone(UTC).date()


def _play_live_day(urls: dict[str, str], token: object, start: datetime, speed: float, anchor: float) -> None:
    """Seed the company, plan the morning and play the day through the APIs (a thread of its own). The technicians
    start as soon as the company is seeded, while the morning's visits are generated and planned (the routes form on
    the board as they go), so someone is on the road within the first minute and a half."""
    from bench.day.morning import plan_the_day, seed_the_company
    from bench.day.player import Player
    from bench.day.scenario import build_scenario
    from deploy.local.company.generator import generate_company

    seed = int(os.environ.get("FIELDLINE_DEMO_SEED", "1"))
    company = generate_company(seed)
    scenario = build_scenario(company, seed, day=start.date())
    seeded = seed_the_company(urls, token, company)  # type: ignore[arg-type]
    planning = threading.Thread(
        target=plan_the_day,
        args=(urls, token, os.environ["DATABASE_URL"], scenario),
        name="morning-plan",
        daemon=True,
    )
    planning.start()
    player = Player(scenario, company, seeded, urls, token, SimulatedClock(start, speed, anchor), progress=False)  # type: ignore[arg-type]
    asyncio.run(player.run())
    print("the simulated day is over; the services keep running", flush=True)


def _own_nats_user_only(service: str) -> dict[str, str]:
    """The environment without the other services' NATS users: each process holds only its own credentials."""
    others = tuple(f"FIELDLINE_{other.upper()}_NATS_" for other in SERVICES if other != service)
    return {k: v for k, v in os.environ.items() if not k.startswith(others)}


def main() -> None:
    settings = load_settings(ServiceSettings)
    demo_mode = os.environ.get("FIELDLINE_DEMO", "day")
    speed = float(os.environ.get("FIELDLINE_DEMO_SPEED", "60"))
    timeline: dict[str, str] = {}
    start = anchor = None
    if demo_mode != "empty":
        # every service and the player read one timeline: 07:00 local (UTC+3) of the demo day at `speed`
        start = datetime.combine(_demo_day(settings.database_url), datetime.min.time()).replace(tzinfo=UTC)
        start += timedelta(hours=4)
        anchor = wall_time() + 10.0
        timeline = {
            "FIELDLINE_CLOCK_START": start.isoformat(),
            "FIELDLINE_CLOCK_SPEED": str(speed),
            "FIELDLINE_CLOCK_ANCHOR": str(anchor),
            "FIELDLINE_DISPATCH_REPLAN_POLL_S": str(max(2.0, speed)),
            "FIELDLINE_DISPATCH_SLA_CHECK_INTERVAL_S": str(max(30.0, speed)),
            "FIELDLINE_DISPATCH_OVERRUN_CHECK_INTERVAL_S": str(max(60.0, speed)),
            "FIELDLINE_DISPATCH_EMERGENCY_RETRY_INTERVAL_S": str(max(60.0, speed)),
        }
    ensure_local_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    # each service runs as its own PostgreSQL role, the migrations as the migrator (shared/db_roles.py)
    roles = asyncio.run(ensure_roles(settings.database_url, SERVICES))
    print("migrating schemas ...", flush=True)
    migrate_services(roles_on=settings.database_url if roles else None)

    def _database(name: str) -> dict[str, str]:
        return {k.upper(): v for k, v in service_role_urls(settings.database_url, name).items()} if roles else {}

    logs = RUN_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    urls = _service_urls()
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    gateway_url = f"http://127.0.0.1:{gateway_port()}"
    # notify's e-mail goes to the local mail catcher (read at /mail/ on the gateway), its links to the gateway
    mail = {
        "FIELDLINE_NOTIFY_SMTP_HOST": "127.0.0.1",
        "FIELDLINE_NOTIFY_SMTP_PORT": str(mail_catcher_port()),
        "FIELDLINE_NOTIFY_PUBLIC_BASE_URL": gateway_url,
    }
    try:
        log = open(logs / "mail.log", "ab")
        processes["mail"] = subprocess.Popen(
            [sys.executable, "-m", "deploy.local.mail_catcher"], cwd=REPO_ROOT, stdout=log, stderr=log
        )
        for name in SERVICES:
            log = open(logs / f"{name}.log", "ab")
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}", "serve", "--no-migrate"],
                cwd=REPO_ROOT,
                env={
                    **_own_nats_user_only(name),
                    **_database(name),
                    **timeline,
                    **(mail if name == "notify" else {}),
                },
                stdout=log,
                stderr=log,
            )
        _wait_ready(urls, processes)
        # The one origin for browsers: the web apps and the four APIs under /api/<service>/.
        log = open(logs / "gateway.log", "ab")
        processes["gateway"] = subprocess.Popen(
            [sys.executable, "-m", "deploy.local.gateway"], cwd=REPO_ROOT, stdout=log, stderr=log
        )
        _wait_ready({"gateway": f"{gateway_url}/api/dispatch"}, processes)
        key = settings.jwt_private_key_file.read_bytes()

        def token(
            role: Role, sub: str, customer_id: uuid.UUID | None = None, technician_id: uuid.UUID | None = None
        ) -> str:
            return mint_token(
                key,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                subject=sub,
                role=role,
                customer_id=customer_id,
                technician_id=technician_id,
            )

        if start is not None and anchor is not None:
            threading.Thread(
                target=_play_live_day, args=(urls, token, start, speed, anchor), name="live-day", daemon=True
            ).start()

        demo = seed(urls, token(Role.ADMIN, "demo-admin"), RUN_DIR / "demo.json")
        customer_token = token(Role.CUSTOMER, "demo-customer", customer_id=uuid.UUID(demo.customer_id))
        anna = demo.technician_ids["Anna Koval"]
        print(
            f"""
Fieldline is running (logs in .run/logs/). Ctrl-C stops everything.

  open {gateway_url}/console/   (dispatcher console; the APIs also at {gateway_url}/api/<service>/)
  open {gateway_url}/mail/      (the e-mail the services sent: assignment notices, survey invitations)

  dispatch   {urls["dispatch"]}   (API docs: {urls["dispatch"]}/docs)
  contracts  {urls["contracts"]}   (API docs: {urls["contracts"]}/docs)
  requests   {urls["requests"]}   (API docs: {urls["requests"]}/docs)
  notify     {urls["notify"]}   (API docs: {urls["notify"]}/docs)

Demo data: customer {demo.customer_id} with {len(demo.site_ids)} sites under contract {demo.contract_id};
technicians {", ".join(f"{n} ({i})" for n, i in demo.technician_ids.items())}.

Tokens, valid 12 h (more: `make token ROLE=dispatcher SUB=you`, `make token ROLE=customer SUB=c CUSTOMER_ID=...`,
`make token ROLE=technician SUB=t TECHNICIAN_ID=...`):
  export DISPATCHER_TOKEN={token(Role.DISPATCHER, "demo-dispatcher")}
  export CUSTOMER_TOKEN={customer_token}
  export ANNA_TOKEN={token(Role.TECHNICIAN, "anna", technician_id=uuid.UUID(anna))}

{_live_note(demo_mode, speed)}
Try the emergency flow:
  curl -N -H "Authorization: Bearer $ANNA_TOKEN" {urls["notify"]}/streams/me &
  curl -s -X POST {urls["requests"]}/requests -H "Authorization: Bearer $CUSTOMER_TOKEN" \\
       -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" -H 'Content-Type: application/json' \\
       -d '{{"site_id": "{demo.site_ids[0]}", "kind": "emergency", "description": "Cold room at +9 C"}}'
  curl -s -H "Authorization: Bearer $CUSTOMER_TOKEN" {urls["requests"]}/requests
""",
            flush=True,
        )
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; see .run/logs/{name}.log", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping ...", flush=True)
        _stop(processes)
        print("stopped.", flush=True)


def _live_note(demo: str, speed: float) -> str:
    if demo == "empty":
        return "FIELDLINE_DEMO=empty: no simulated day; the services run on the real clock.\n"
    return (
        f"A simulated day is playing at {speed:g}x (FIELDLINE_DEMO_SPEED): the company from deploy/local/company/ is\n"
        "being seeded (about a minute), the morning planned, then technicians drive and report and customers file\n"
        "emergencies. Watch it: GET /board and /sla-at-risk on dispatch (DISPATCHER_TOKEN), GET /kpis on requests.\n"
        "Act as one of its technicians: make token ROLE=technician SUB=t TECHNICIAN_ID=<id from GET /technicians>.\n"
        "FIELDLINE_DEMO=empty make run starts without it.\n"
    )


if __name__ == "__main__":
    main()
