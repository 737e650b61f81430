"""The four services as processes on a private database and nats-server, on one simulated timeline.

Reuses the test suite's real-infrastructure helpers (tests/support/infra.py) so `make day`, the day test
and the suite start services the same way.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared.auth import Role, ensure_local_keypair, mint_token
from shared.clock import wall_time
from tests.support.infra import NatsServer, Stack, create_database, drop_database, migrate_all, start_stack

__all__ = ["DayStack", "Timeline", "day_stack"]


@dataclass(frozen=True)
class Timeline:
    """FIELDLINE_CLOCK_*: the simulated instant ``start`` is reached at the real Unix time ``anchor``."""

    start: datetime
    speed: float
    anchor: float

    def env(self) -> dict[str, str]:
        return {
            "FIELDLINE_CLOCK_START": self.start.isoformat(),
            "FIELDLINE_CLOCK_SPEED": repr(self.speed),
            "FIELDLINE_CLOCK_ANCHOR": repr(self.anchor),
        }


@dataclass
class DayStack:
    database_url: str
    nats: NatsServer
    keys_dir: Path
    log_dir: Path
    stack: Stack | None = None
    last_start_s: float = 0.0  # real seconds the last (re)start took, stopping the old services included

    def start(self, timeline: Timeline, extra_env: dict[str, str] | None = None) -> None:
        """(Re)start the services on ``timeline`` (every process reads the same start, speed and anchor)."""
        began = time.monotonic()
        if self.stack is not None:
            self.stack.stop()
        env = {**timeline.env(), **(extra_env or {})}
        self.stack = start_stack(self.database_url, self.nats.url, self.keys_dir, self.log_dir, extra_env=env)
        self.last_start_s = time.monotonic() - began

    def urls(self) -> dict[str, str]:
        assert self.stack is not None
        return {name: self.stack.url(name) for name in self.stack.services}

    def token(self, role: Role, sub: str, **claims: uuid.UUID) -> str:
        key = (self.keys_dir / "jwt-private.pem").read_bytes()
        return mint_token(key, issuer="fieldline-local", audience="fieldline", subject=sub, role=role, **claims)  # type: ignore[arg-type]


@contextmanager
def day_stack(workdir: Path | None = None, keep_database: bool = False) -> Iterator[DayStack]:
    """A fresh migrated database and a private nats-server; services are started by `DayStack.start`."""
    with tempfile.TemporaryDirectory(prefix="fieldline-day-") as tmp:
        root = workdir or Path(tmp)
        (root / "nats").mkdir(parents=True, exist_ok=True)
        (root / "logs").mkdir(parents=True, exist_ok=True)
        keys = root / "keys"
        ensure_local_keypair(keys / "jwt-private.pem", keys / "jwt-public.pem")
        database_url = asyncio.run(create_database("fieldline_day"))
        nats = NatsServer(root / "nats")
        nats.start()
        day = DayStack(database_url, nats, keys, root / "logs")
        try:
            migrate_all(database_url)
            yield day
        finally:
            if day.stack is not None:
                day.stack.stop()
            nats.stop()
            if not keep_database:
                asyncio.run(drop_database(database_url))


def anchor_in(seconds: float) -> float:
    """A real instant ``seconds`` from now: services started now reach the timeline's start then."""
    return wall_time() + seconds
