"""The open-model load: requests sent on a schedule, whatever the answers do, each timed from its scheduled send.

The mix is a working morning of the company: customers file emergencies and routine requests (with an
Idempotency-Key, retried with the same key until answered, as the portal does) and read them; technicians read
their day, step their jobs on (accept, en route, on site, report) and send positions; dispatchers read the board.
Every technician follows its live stream (notify `/streams/me`), which times POST -> the technician's stream.
Each call goes to one replica of its service in turn and, when that one fails to answer, to the next: the job of
the load balancer in front of the replicas.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate, cycle
from typing import Any

import httpx

from bench.chaos.stack import ChaosStack
from deploy.local.company.generator import Company
from deploy.local.company.seeder import SeededCompany
from shared.auth import Role
from shared.clock import Clock

__all__ = ["MIX", "Load", "LoadResults", "Sample"]

# httpcore tries `import sniffio` whenever it makes a lock; sniffio is not installed, and a failed import searches
# sys.path again each time (a third of the load generator's time). None in sys.modules fails it at once.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

# share of the rate per kind of call. Filings are a small share (one a second at 50/s is still a hundred times the
# simulated day's emergencies) so that dispatch places each as it comes rather than working through a backlog that
# no company of this size has; the bulk is what devices and screens do all day: positions, days, steps, reads.
MIX: dict[str, float] = {
    "file_emergency": 0.012,
    "file_routine": 0.008,
    "read_request": 0.24,
    "technician_day": 0.16,
    "technician_step": 0.14,
    "position": 0.42,
    "board": 0.02,
}
FILING_DEADLINE_S = 60.0  # a customer's app keeps retrying a filing this long
CALL_DEADLINE_S = 10.0  # other calls give up sooner
REQUEST_TIMEOUT_S = 10.0  # one attempt's wait for an answer
PASSED_OVER_S = 5.0  # a replica that failed a call is left out this long
_RETRYABLE = {502, 503, 504}
_NEXT_STEP = {"offered": "accept", "accepted": "en_route", "en_route": "on_site", "on_site": "report"}


@dataclass
class Sample:
    kind: str
    phase: str
    latency_s: float  # from the scheduled send to the final answer (retries included)
    status: int | None  # the final answer's status; None: no answer before the deadline
    attempts: int
    at_s: float = 0.0  # when it was due, in seconds since the load started


@dataclass
class Filed:
    request_id: str
    customer_id: str
    idempotency_key: str
    kind: str
    phase: str
    scheduled_wall: float  # the Unix time the POST was due


@dataclass
class LoadResults:
    samples: list[Sample] = field(default_factory=list)
    filed: dict[str, Filed] = field(default_factory=dict)  # request id -> what the client was told
    unanswered_filings: list[str] = field(default_factory=list)  # idempotency keys never answered with 2xx
    # request id -> the Unix time its assignment.created first reached the technician's stream
    first_on_stream: dict[str, float] = field(default_factory=dict)
    stream_reconnects: int = 0
    sent: int = 0
    # how late the load generator's own event loop woke up (a busy generator delays calls: their latency shows it)
    loop_lag_s: list[float] = field(default_factory=list)

    def stream_latencies(self, phase: str) -> list[float]:
        """POST -> technician's stream, for emergencies filed in ``phase`` whose assignment reached a stream."""
        return [
            self.first_on_stream[f.request_id] - f.scheduled_wall
            for f in self.filed.values()
            if f.kind == "emergency" and f.phase == phase and f.request_id in self.first_on_stream
        ]


@dataclass
class _Technician:
    id: str
    token: str
    position: tuple[float, float]
    stops: list[dict[str, Any]] = field(default_factory=list)  # its day's active assignments, last read
    busy: bool = False


class Load:
    def __init__(
        self,
        stack: ChaosStack,
        company: Company,
        seeded: SeededCompany,
        clock: Clock,
        rate: float,
        phase_of: Callable[[float], str],
        seed: int = 1,
    ) -> None:
        self.stack = stack
        self.clock = clock
        self.rate = rate
        self.phase_of = phase_of  # seconds since the load started -> the phase it is in
        self.rng = random.Random(seed)
        self.results = LoadResults()
        # one connection pool per replica, never queueing (each call is its own device) and keeping few idle
        # connections: httpcore scans the whole pool and its queue for every request, which a large pool or a long
        # queue (a stalled replica) turns into the load generator's own bottleneck
        self.pools = {
            url: httpx.AsyncClient(
                timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=2.0),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=4, keepalive_expiry=3.0),
            )
            for urls in stack.urls().values()
            for url in urls
        }
        self.replicas = {name: cycle(urls) for name, urls in stack.urls().items()}
        self.down_until: dict[str, float] = {}
        self.dispatcher = stack.token(Role.DISPATCHER, "chaos-dispatcher")
        # tokens minted once (each mint loads the RSA key: tens of milliseconds)
        self.customer_tokens = {cid: stack.customer_token(cid) for cid in seeded.customers.values()}
        self.customers = [
            (cid, self.customer_tokens[cid], [seeded.sites[s.ref] for s in company.sites if s.customer_ref == ref])
            for ref, cid in seeded.customers.items()
        ]
        self.technicians = [
            _Technician(tid, stack.technician_token(tid), (spec.lat, spec.lon))
            for spec in company.technicians
            if (tid := seeded.technicians.get(spec.name))
        ]
        self.streams = httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=40.0))
        self.stopping = asyncio.Event()
        self.followers: list[asyncio.Task[None]] = []
        self.load_started = time.monotonic()

    # --- calls ---------------------------------------------------------------------------------------------------
    def _replica(self, service: str) -> str:
        """The next replica in turn, passing over those marked down (all down: the next one anyway)."""
        urls = self.stack.urls()[service]
        now = time.monotonic()
        for _ in urls:
            replica = next(self.replicas[service])
            if self.down_until.get(replica, 0.0) <= now:
                return replica
        return next(self.replicas[service])

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str,
        deadline_s: float = CALL_DEADLINE_S,
        retry_unanswered: bool = False,
        **kwargs: Any,
    ) -> tuple[httpx.Response | None, int]:
        """One call, as a load balancer with passive health checks forwards it: a replica that refuses the
        connection, answers 502-504 or leaves a request unanswered is passed over for a few seconds, and a call it
        refused goes to the next one until ``deadline_s``. A call left unanswered is tried again only when
        ``retry_unanswered`` (a filing: the customer's app retries with the same Idempotency-Key).
        Returns the last answer (None: none) and the attempts made."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        give_up = time.monotonic() + deadline_s
        attempts = 0
        answer: httpx.Response | None = None
        while True:
            attempts += 1
            replica = self._replica(service)
            unanswered = False
            try:
                answer = await self.pools[replica].request(method, replica + path, headers=headers, **kwargs)
                if answer.status_code not in _RETRYABLE:
                    return answer, attempts
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
                answer = None
            except httpx.HTTPError:
                answer, unanswered = None, True
            self.down_until[replica] = time.monotonic() + PASSED_OVER_S
            if (unanswered and not retry_unanswered) or time.monotonic() + 0.2 > give_up:
                return answer, attempts
            await asyncio.sleep(min(0.1 * attempts, 1.0))

    def _record(self, kind: str, scheduled: float, phase: str, answer: httpx.Response | None, attempts: int) -> None:
        self.results.samples.append(
            Sample(
                kind,
                phase,
                time.monotonic() - scheduled,
                answer.status_code if answer else None,
                attempts,
                round(scheduled - self.load_started, 3),
            )
        )

    # --- the mix ---------------------------------------------------------------------------------------------------
    async def file(self, kind: str, scheduled: float, phase: str) -> None:
        customer_id, token, sites = self.rng.choice(self.customers)
        body: dict[str, Any] = {
            "site_id": self.rng.choice(sites),
            "kind": kind,
            "description": "cold room at +9 C" if kind == "emergency" else "door seal worn, book a visit",
        }
        key = uuid.uuid4().hex
        scheduled_wall = time.time() - (time.monotonic() - scheduled)
        answer, attempts = await self.call(
            "requests",
            "POST",
            "/requests",
            token,
            deadline_s=FILING_DEADLINE_S,
            retry_unanswered=True,
            json=body,
            headers={"Idempotency-Key": key},
        )
        self._record(f"file_{kind}", scheduled, phase, answer, attempts)
        if answer is not None and answer.status_code < 300:
            request_id = str(answer.json()["id"])
            self.results.filed[request_id] = Filed(request_id, customer_id, key, kind, phase, scheduled_wall)
        else:
            self.results.unanswered_filings.append(key)

    async def read_request(self, scheduled: float, phase: str) -> None:
        if not self.results.filed:
            return
        filed = self.results.filed[self.rng.choice(list(self.results.filed))]
        token = self.customer_tokens[filed.customer_id]
        answer, attempts = await self.call("requests", "GET", f"/requests/{filed.request_id}", token)
        self._record("read_request", scheduled, phase, answer, attempts)

    async def technician_day(self, scheduled: float, phase: str, tech: _Technician | None = None) -> None:
        tech = tech or self.rng.choice(self.technicians)
        day = self.clock.now().date().isoformat()
        answer, attempts = await self.call("dispatch", "GET", "/me/day", tech.token, params={"day": day})
        self._record("technician_day", scheduled, phase, answer, attempts)
        if answer is not None and answer.status_code == 200:
            tech.stops = sorted(
                (s["assignment"] for s in answer.json()["stops"] if s["assignment"]["status"] in _NEXT_STEP),
                key=lambda a: a["planned_start"],
            )

    async def technician_step(self, scheduled: float, phase: str) -> None:
        """The technician with work in hand moves its first job one step on (one call; a refusal re-reads)."""
        ready = [t for t in self.technicians if t.stops and not t.busy]
        if not ready:
            await self.technician_day(scheduled, phase)
            return
        tech = self.rng.choice(ready)
        tech.busy = True
        try:
            assignment = tech.stops[0]
            step = _NEXT_STEP[assignment["status"]]
            common = {"client_command_id": str(uuid.uuid4()), "at": self.clock.now().isoformat()}
            common["position"] = {"lat": tech.position[0], "lon": tech.position[1]}  # type: ignore[assignment]
            path = f"/me/assignments/{assignment['id']}"
            if step == "accept":
                path, body = path + "/accept", common
            elif step == "report":
                report = {"outcome": "completed", "work_done": "serviced", "signed_by": "Site manager"}
                path, body = path + "/report", {**common, **report}
            else:
                path, body = path + "/status", {**common, "status": step}
            answer, attempts = await self.call("dispatch", "POST", path, tech.token, json=body)
            self._record("technician_step", scheduled, phase, answer, attempts)
            if answer is not None and answer.status_code < 300:
                status = answer.json().get("status")
                if status in _NEXT_STEP:
                    assignment["status"] = status
                else:
                    tech.stops.pop(0)
            else:
                tech.stops = []  # the day changed under it: read it again before the next step
        finally:
            tech.busy = False

    async def position(self, scheduled: float, phase: str) -> None:
        tech = self.rng.choice(self.technicians)
        lat, lon = tech.position
        tech.position = (lat + self.rng.uniform(-0.002, 0.002), lon + self.rng.uniform(-0.002, 0.002))
        ping = {
            "at": self.clock.now().isoformat(),
            "position": {"lat": tech.position[0], "lon": tech.position[1]},
            "accuracy_m": 10,
        }
        body = {"client_command_id": str(uuid.uuid4()), "pings": [ping]}
        answer, attempts = await self.call("dispatch", "POST", "/me/positions", tech.token, json=body)
        self._record("position", scheduled, phase, answer, attempts)

    async def board(self, scheduled: float, phase: str) -> None:
        answer, attempts = await self.call("dispatch", "GET", "/board", self.dispatcher)
        self._record("board", scheduled, phase, answer, attempts)

    async def one(self, kind: str, scheduled: float, phase: str) -> None:
        if kind == "file_emergency":
            await self.file("emergency", scheduled, phase)
        elif kind == "file_routine":
            await self.file("routine", scheduled, phase)
        elif kind == "read_request":
            await self.read_request(scheduled, phase)
        elif kind == "technician_day":
            await self.technician_day(scheduled, phase)
        elif kind == "technician_step":
            await self.technician_step(scheduled, phase)
        elif kind == "position":
            await self.position(scheduled, phase)
        else:
            await self.board(scheduled, phase)

    # --- live streams ----------------------------------------------------------------------------------------------
    async def follow(self, tech: _Technician) -> None:
        """The technician's device: follows `/streams/me` and comes back (Last-Event-ID) whenever it drops."""
        last_id: str | None = None
        while not self.stopping.is_set():
            url = next(self.replicas["notify"]) + "/streams/me"
            headers = {"Authorization": f"Bearer {tech.token}"}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id
            try:
                async with self.streams.stream("GET", url, headers=headers) as response:
                    event = None
                    async for line in response.aiter_lines():
                        if line.startswith("id: "):
                            last_id = line[4:]
                        elif line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "assignment.created":
                            request_id = str(json.loads(line[6:]).get("request_id"))
                            self.results.first_on_stream.setdefault(request_id, time.time())
                        if self.stopping.is_set():
                            return
            except (httpx.HTTPError, ValueError):
                pass
            self.results.stream_reconnects += 1
            await asyncio.sleep(0.5)

    # --- the schedule ----------------------------------------------------------------------------------------------
    async def run(self, duration_s: float) -> LoadResults:
        """Sends calls at ``self.rate`` a second (Poisson arrivals) for ``duration_s``; waits for the last answers."""
        kinds, cumulative = list(MIX), list(accumulate(MIX.values()))
        started = self.load_started = time.monotonic()
        due = started
        calls: set[asyncio.Task[None]] = set()
        while due - started < duration_s:
            due += self.rng.expovariate(self.rate)
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            kind = self.rng.choices(kinds, cum_weights=cumulative)[0]
            task = asyncio.create_task(self.one(kind, due, self.phase_of(due - started)))
            calls.add(task)
            task.add_done_callback(calls.discard)
            self.results.sent += 1
        if calls:
            await asyncio.wait(calls)
        return self.results

    async def _watch_lag(self) -> None:
        while not self.stopping.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.1)
            self.results.loop_lag_s.append(time.monotonic() - before - 0.1)

    async def start_following(self) -> None:
        """Every technician's device opens its live stream (before the load: frames from then on count)."""
        self.followers = [asyncio.create_task(self.follow(t)) for t in self.technicians]
        self.followers.append(asyncio.create_task(self._watch_lag()))
        await asyncio.sleep(1.0)

    async def close(self) -> None:
        self.stopping.set()
        for follower in self.followers:
            follower.cancel()
        await asyncio.gather(*self.followers, return_exceptions=True)
        await self.streams.aclose()
        for pool in self.pools.values():
            await pool.aclose()
