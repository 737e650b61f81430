"""The faults injected while the load runs, spread evenly over the faulty phase.

- `kill -9` of every service replica (restarted at once on its port, as an orchestrator would);
- SIGSTOP of a consumer process for longer than its AckWait, then SIGCONT (its messages go to the other replica
  meanwhile, and the stopped one wakes up holding acknowledgements that are no longer wanted);
- the broker: one nats-server killed (-9) and started again; on the cluster, the node leading the requests
  stream killed, then the node holding the meta leadership killed, each revived after a few seconds;
- PostgreSQL: the private cluster stopped in immediate mode (a crash: recovery from the WAL) and started again.

At most one replica of a service is down at a time: a fault on a service waits until its last one is over.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass

from bench.chaos.profile import Profile
from bench.chaos.stack import ChaosStack
from shared.events.envelope import stream_name
from shared.migrations import SERVICES
from tests.support.infra import ServiceProcess

__all__ = ["Fault", "FaultInjector"]

BROKER_DOWN_S = 3.0
DATABASE_DOWN_S = 3.0


@dataclass
class Fault:
    at_s: float  # seconds since the load started
    kind: str
    target: str
    detail: str = ""


def _say(line: str) -> None:
    print(f"  fault: {line}", file=sys.stderr, flush=True)


class FaultInjector:
    def __init__(self, stack: ChaosStack, profile: Profile) -> None:
        self.stack = stack
        self.profile = profile
        self.injected: list[Fault] = []
        self.locks = {name: asyncio.Lock() for name in SERVICES}
        self.pending: set[asyncio.Task[None]] = set()
        self.started = time.monotonic()
        self.origin = self.started  # what fault times count from (the load's start, when `run` is given it)

    def plan(self) -> list[tuple[str, str, int]]:
        """(kind, service or component, replica or node): every replica killed `kills_per_replica` times, the
        services taken in turn so that two faults in a row never hit the same service."""
        plan: list[tuple[str, str, int]] = []
        for _round in range(self.profile.kills_per_replica):
            for replica in range(self.profile.replicas):
                plan += [("kill -9", name, replica) for name in SERVICES]
        infrastructure: list[tuple[str, str, int]] = [("SIGSTOP past AckWait", "dispatch", 1)]
        if self.stack.broker.clustered:
            infrastructure += [("kill -9 stream leader", "nats", 0), ("kill -9 meta leader", "nats", 0)]
        else:
            infrastructure.append(("kill -9 and restart", "nats", 0))
        infrastructure += [("SIGSTOP past AckWait", "notify", 0), ("restart (immediate stop)", "postgres", 0)]
        # the infrastructure's faults between the kills, evenly
        step = max(1, len(plan) // (len(infrastructure) + 1))
        for i, fault in enumerate(infrastructure):
            plan.insert(min(len(plan), (i + 1) * step + i), fault)
        return plan

    def _note(self, kind: str, target: str, detail: str = "") -> Fault:
        fault = Fault(round(time.monotonic() - self.origin, 1), kind, target, detail)
        self.injected.append(fault)
        _say(f"{fault.at_s:6.1f} s {kind} {target} {detail}")
        return fault

    async def run(self, duration_s: float, origin: float | None = None) -> None:
        self.started = time.monotonic()
        self.origin = origin if origin is not None else self.started
        plan = self.plan()
        every = duration_s / (len(plan) + 1)
        for i, (kind, target, index) in enumerate(plan):
            await asyncio.sleep(max(0.0, self.started + (i + 1) * every - time.monotonic()))
            if target in self.locks:
                task = asyncio.create_task(self._on_service(kind, target, index))
            elif target == "nats":
                task = asyncio.create_task(self._on_broker(kind))
            else:
                task = asyncio.create_task(self._on_database())
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
        remaining = self.started + duration_s - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _on_service(self, kind: str, service: str, index: int) -> None:
        async with self.locks[service]:
            process = self.stack.replicas[service][index]
            name = f"{service}-{index + 1}"
            if process.process is None or process.process.poll() is not None:
                return
            if kind == "kill -9":
                fault = self._note(kind, name, f"pid {process.process.pid}")
                await asyncio.to_thread(process.stop, signal.SIGKILL)
                started = time.monotonic()
                starts = await asyncio.to_thread(_restart, process)
                fault.detail += f"; restarted, ready again after {time.monotonic() - started:.1f} s"
                if starts > 1:
                    fault.detail += f" ({starts} starts: the first exited at start-up)"
            else:
                held = self.profile.ack_wait_s + 5.0
                process.process.send_signal(signal.SIGSTOP)
                self._note(kind, name, f"stopped {held:g} s (AckWait {self.profile.ack_wait_s:g} s), then SIGCONT")
                await asyncio.sleep(held)
                process.process.send_signal(signal.SIGCONT)

    async def _on_broker(self, kind: str) -> None:
        broker = self.stack.broker
        if not broker.clustered:
            self._note(kind, "nats-server", f"down {BROKER_DOWN_S:g} s")
            await asyncio.to_thread(broker.kill, 0)
            await asyncio.sleep(BROKER_DOWN_S)
            await asyncio.to_thread(broker.revive, 0)
            return
        stream = stream_name("requests")
        leader = await asyncio.to_thread(
            broker.stream_leader if "stream" in kind else broker.meta_leader,
            *((stream,) if "stream" in kind else ()),
        )
        if leader is None:
            self._note(kind, "nats cluster", "no leader found: nothing killed")
            return
        self._note(kind, f"chaos-n{leader + 1}", f"{stream} leader" if "stream" in kind else "JetStream meta leader")
        await asyncio.to_thread(broker.kill, leader)
        await asyncio.sleep(2 * BROKER_DOWN_S)
        await asyncio.to_thread(broker.revive, leader)
        await asyncio.to_thread(broker.wait_healthy, 60.0)

    async def _on_database(self) -> None:
        self._note("restart (immediate stop)", "postgres", f"down {DATABASE_DOWN_S:g} s, then crash recovery")
        await asyncio.to_thread(self.stack.postgres.stop, "immediate")
        await asyncio.sleep(DATABASE_DOWN_S)
        await asyncio.to_thread(self.stack.postgres.start)

    async def recover(self) -> None:
        """Waits for every fault in progress to end, then for every replica to answer /readyz."""
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        for process in self.stack.processes():
            if process.process is None or process.process.poll() is not None:
                await asyncio.to_thread(_restart, process)
            else:
                await asyncio.to_thread(process.wait_ready)


def _restart(process: ServiceProcess, attempts: int = 5) -> int:
    """Start the replica again until it is ready, as an orchestrator restarts a crashed container (a replica started
    while the broker or the database is down may exit at start-up); returns the starts it took."""
    for attempt in range(1, attempts + 1):
        process.start()
        try:
            process.wait_ready()
            return attempt
        except RuntimeError as exc:
            _say(f"{process.name} did not start (attempt {attempt}): {str(exc).splitlines()[0][:160]}")
            process.stop()
            time.sleep(2.0)
    raise RuntimeError(f"{process.name} did not start in {attempts} attempts; see its log")
