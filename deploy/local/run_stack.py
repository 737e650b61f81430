"""`make run`: migrate, start the four services, seed demo data, print how to use them; Ctrl-C stops all.

Expects DATABASE_URL, NATS_URL and FIELDLINE_<SVC>_NATS_USER/_PASSWORD in the environment (bootstrap writes them to
.run/env); each service process gets only its own NATS user.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx

from deploy.local.seed import seed
from shared.auth import Role, ensure_local_keypair, mint_token
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


def _own_nats_user_only(service: str) -> dict[str, str]:
    """The environment without the other services' NATS users: each process holds only its own credentials."""
    others = tuple(f"FIELDLINE_{other.upper()}_NATS_" for other in SERVICES if other != service)
    return {k: v for k, v in os.environ.items() if not k.startswith(others)}


def main() -> None:
    settings = load_settings(ServiceSettings)
    ensure_local_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    print("migrating schemas ...", flush=True)
    migrate_services()

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
    try:
        for name in SERVICES:
            log = open(logs / f"{name}.log", "ab")
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}", "serve", "--no-migrate"],
                cwd=REPO_ROOT,
                env=_own_nats_user_only(name),
                stdout=log,
                stderr=log,
            )
        _wait_ready(urls, processes)
        key = settings.jwt_private_key_file.read_bytes()

        def token(role: Role, sub: str, **claims: uuid.UUID) -> str:
            return mint_token(
                key,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                subject=sub,
                role=role,
                **claims,  # type: ignore[arg-type]
            )

        demo = seed(urls, token(Role.ADMIN, "demo-admin"), RUN_DIR / "demo.json")
        customer_token = token(Role.CUSTOMER, "demo-customer", customer_id=uuid.UUID(demo.customer_id))
        anna = demo.technician_ids["Anna Koval"]
        print(
            f"""
Fieldline is running (logs in .run/logs/). Ctrl-C stops everything.

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


if __name__ == "__main__":
    main()
