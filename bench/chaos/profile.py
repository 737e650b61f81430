"""How long and how hard a chaos run is: `short` (CI, a few minutes on two cores) and `long`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PROFILES", "Profile"]


@dataclass(frozen=True)
class Profile:
    name: str
    calm_s: float  # load with no fault: the latencies the goal is about
    faulty_s: float  # load while the faults are injected
    rate: float = 50.0  # requests a second, sent on schedule whatever the answers do (open model)
    settle_s: float = 90.0  # the longest wait, after the load, for every outbox and consumer to go quiet
    replicas: int = 2
    cluster: bool = False  # three nats-server nodes with R3 streams (leader kills) instead of one (restarts)
    ack_wait_s: float = 10.0  # consumers' AckWait: a stopped consumer is stopped longer than this
    kills_per_replica: int = 1
    # the company: a few customers with sites under contract and technicians on shift
    customers: int = 6
    sites: int = 30
    technicians: int = 16
    seed: int = 1


PROFILES = {
    "short": Profile("short", calm_s=30.0, faulty_s=90.0),
    "long": Profile(
        "long", calm_s=120.0, faulty_s=480.0, settle_s=300.0, cluster=True, kills_per_replica=3, technicians=25
    ),
}
