"""A private PostgreSQL cluster for the chaos run: initdb into a temporary directory, a free port, pg_ctl.

The run restarts its database server as one of its faults, so it never uses the machine's shared server on
5432 (other people's work runs there): it makes its own, which only it uses and restarts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.infra import free_port

__all__ = ["PG_BIN", "PostgresCluster"]

PG_BIN = Path(os.environ.get("FIELDLINE_PG_BIN", "/usr/lib/postgresql/15/bin"))

# enough connections for two replicas of four services (pools of 10 plus overflow) and the checker
_SETTINGS = ("max_connections=300", "shared_buffers=128MB", "fsync=on", "synchronous_commit=on")


@dataclass
class PostgresCluster:
    """``root``/data holds the cluster; it listens on 127.0.0.1:``port`` with trust auth for the local user postgres."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        # initdb and the server refuse to run as root: as root, run them as the postgres user
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")

    def init(self) -> None:
        """``root``'s parent must let the postgres user through (a temporary directory is 0700: open it up)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = " ".join(
            [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}", *(f"-c {s}" for s in _SETTINGS)]
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``mode`` "immediate" is a crash: no checkpoint, the next start recovers from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()
