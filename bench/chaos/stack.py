"""The chaos run's stack: two replicas of each service on a private PostgreSQL cluster and private NATS.

Everything is the suite's and the simulated day's (tests/support/infra.py, bench/day/stack.py): the same
service processes, environment, roles, migrations and timeline; only the replicas, the private database server
(bench/chaos/postgres.py) and the optional NATS cluster (bench/chaos/broker.py) are added here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.chaos.broker import Broker, cluster_of, single
from bench.chaos.postgres import PostgresCluster
from bench.chaos.profile import Profile
from bench.day.stack import Timeline, anchor_in
from deploy.local.mail_catcher import serve as serve_mail
from shared.auth import Role, ensure_local_keypair, mint_token
from shared.migrations import SERVICES
from tests.support.clock import suite_now
from tests.support.infra import ServiceProcess, create_database, free_port, migrate_all, service_env, start_all

__all__ = ["ChaosStack", "chaos_stack"]


def chaos_env(profile: Profile, clustered: bool, mail_port: int) -> dict[str, str]:
    """Settings of every replica: short AckWait (a stopped consumer's messages come back within the run), the
    planner kept small, the periodic planning off, streams R3 on a cluster, e-mail to the run's mail catcher."""
    env = {
        "FIELDLINE_LOG_LEVEL": "WARNING",
        "FIELDLINE_DISPATCH_PLANNER_TIME_LIMIT_S": "1",
        "FIELDLINE_DISPATCH_PLAN_INTERVAL_S": "0",
        "FIELDLINE_DISPATCH_EMERGENCY_RETRY_INTERVAL_S": "20",
        "FIELDLINE_CONTRACTS_VISIT_SWEEP_INTERVAL_S": "0",
        "FIELDLINE_NOTIFY_SMTP_HOST": "127.0.0.1",
        "FIELDLINE_NOTIFY_SMTP_PORT": str(mail_port),
        "FIELDLINE_NOTIFY_RETRY_BASE_S": "5",
    }
    for name in SERVICES:
        prefix = f"FIELDLINE_{name.upper()}_"
        env[prefix + "CONSUMER_ACK_WAIT_S"] = str(profile.ack_wait_s)
        env[prefix + "DB_POOL_SIZE"] = "8"
        if clustered:
            env[prefix + "NATS_STREAM_REPLICAS"] = "3"
    return env


@dataclass
class ChaosStack:
    root: Path
    postgres: PostgresCluster
    broker: Broker
    database_url: str
    keys_dir: Path
    timeline: Timeline
    mail_dir: Path
    replicas: dict[str, list[ServiceProcess]]

    def urls(self) -> dict[str, list[str]]:
        return {name: [p.url for p in processes] for name, processes in self.replicas.items()}

    def first_urls(self) -> dict[str, str]:
        """One replica's URL per service (for seeding: any replica will do)."""
        return {name: processes[0].url for name, processes in self.replicas.items()}

    def processes(self) -> list[ServiceProcess]:
        return [p for processes in self.replicas.values() for p in processes]

    def token(self, role: Role, sub: str, **claims: Any) -> str:
        key = (self.keys_dir / "jwt-private.pem").read_bytes()
        return mint_token(key, issuer="fieldline-local", audience="fieldline", subject=sub, role=role, **claims)

    def technician_token(self, technician_id: str) -> str:
        return self.token(Role.TECHNICIAN, f"tech-{technician_id}", technician_id=uuid.UUID(technician_id))

    def customer_token(self, customer_id: str) -> str:
        return self.token(Role.CUSTOMER, f"customer-{customer_id}", customer_id=uuid.UUID(customer_id))


@contextmanager
def chaos_stack(profile: Profile, workdir: Path | None = None) -> Iterator[ChaosStack]:
    """A private PostgreSQL cluster with a fresh migrated database, the broker, a mail catcher and two replicas
    of every service on a timeline starting at the suite's "now" (a Friday morning: technicians on shift)."""
    with tempfile.TemporaryDirectory(prefix="fieldline-chaos-") as tmp:
        root = workdir or Path(tmp)
        os.chmod(root, 0o755)  # the database server runs as the postgres user and must reach its directory
        for sub in ("logs", "nats", "mail"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        keys = root / "keys"
        ensure_local_keypair(keys / "jwt-private.pem", keys / "jwt-public.pem")
        postgres = PostgresCluster(root / "postgres")
        postgres.init()
        postgres.start()
        broker = cluster_of(root / "nats") if profile.cluster else single(root / "nats")
        mail_port = free_port()
        mail = serve_mail(mail_port, root / "mail")
        processes: list[ServiceProcess] = []
        try:
            database_url = asyncio.run(create_database("fieldline_chaos", admin=postgres.admin_url))
            migrate_all(database_url)
            broker.start()
            timeline = Timeline(suite_now(), 1.0, anchor_in(0))
            env = {**timeline.env(), **chaos_env(profile, broker.clustered, mail_port)}
            replicas: dict[str, list[ServiceProcess]] = {}
            for name in SERVICES:
                replicas[name] = []
                for replica in range(1, profile.replicas + 1):
                    process = ServiceProcess(
                        name,
                        service_env(name, database_url, broker.url, keys, env),
                        log_path=root / "logs" / f"{name}-{replica}.log",
                    )
                    replicas[name].append(process)
                    processes.append(process)
            start_all(processes)
            yield ChaosStack(root, postgres, broker, database_url, keys, timeline, root / "mail", replicas)
        finally:
            for process in processes:  # every replica drains at once, not one after the other
                if process.process is not None and process.process.poll() is None:
                    process.process.send_signal(signal.SIGTERM)
            for process in processes:
                process.stop()
            mail.stop()
            broker.stop()
            if postgres.running():
                postgres.stop()
