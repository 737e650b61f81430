"""Issue 18: the assignment lifecycle under random sequences of what happens in a day, checked after every step.

Hypothesis drives the dispatch app in-process (real PostgreSQL, a real nats-server, the clock fixed and moved by a
rule): requests and planned visits filed through the events dispatch consumes, dispatchers assigning,
reassigning, cancelling and re-planning, technicians accepting, declining, going en route, arriving and reporting,
a technician called in sick, requests cancelled, time passing. After every step the database must hold:

- at most one active assignment per request, and no two active bookings of one technician overlapping;
- every status change along services/dispatch/domain/lifecycle.py (a booking moved to another technician is
  offered to them anew: accepted -> offered, told by assignment.changed);
- a cancelled request has no active assignment, and an active assignment's job is booked ('assigned');
- every committed change has its outbox event exactly once: one assignment.created per assignment, one
  assignment.status_changed per status step in the history (in the same order), one assignment.changed for each
  move to another technician, a request.unplaceable for each job left unplaceable;
- a refused command (4xx) changed nothing (a technician's refused command leaves only its stored answer, which a
  replay gets back); every answer is 2xx or a 4xx problem+json, never 5xx.

The steps are few (a settings profile below) and derandomized, so CI runs the same sequences each time (the
planner's time-limited search can still make a run take another path); FIELDLINE_LIFECYCLE_EXAMPLES / _STEPS ask
for more locally. What it found is kept below as plain tests; the machine fails with them until dispatch is fixed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import nats
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from nats.aio.client import Client as NATS

from services.dispatch.domain.lifecycle import ACTIVE, ALLOWED, FAILURE_OUTCOMES, event_status
from services.dispatch.planning import Plan, PlanKpis, PlanningProblem, SolveStatus, UnassignedReason, UnassignedVisit
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import VisitCancelled, VisitPlanned
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.requests import PreferredWindow, ServiceRequestCancelled, ServiceRequestCreated
from shared.http import PROBLEM_JSON
from tests.conftest import Keys
from tests.support.infra import NatsServer
from tests.support.polling import eventually

from .conftest import (
    DISPATCH_TABLES,
    MONDAY_0800,
    Clock,
    Dispatch,
    clean_dispatch_schema,
    dispatch_app,
    publish_on,
)

T = TypeVar("T")
TZ = ZoneInfo("Europe/Simferopol")

LIFECYCLE = settings(
    max_examples=int(os.environ.get("FIELDLINE_LIFECYCLE_EXAMPLES", "20")),
    stateful_step_count=int(os.environ.get("FIELDLINE_LIFECYCLE_STEPS", "30")),
    deadline=None,
    derandomize=True,  # the same sequences on every run: a CI failure is the one seen locally
    database=None,
    suppress_health_check=list(HealthCheck),
    # shrinking replays steps against a real database and a time-limited planner for minutes, and the replays need
    # not take the same path: a failure is reported as found (its steps printed); FIELDLINE_LIFECYCLE_SHRINK=1 shrinks
    phases=[Phase.explicit, Phase.generate]
    + ([Phase.shrink] if os.environ.get("FIELDLINE_LIFECYCLE_SHRINK") == "1" else []),
)

# the fleet of every example: three qualified technicians around Simferopol and Yalta, one not qualified enough
FLEET = (
    ("Anna Koval", 44.95, 34.10, 3),
    ("Oleg Petrov", 44.97, 34.13, 3),
    ("Maria Shevchenko", 44.50, 34.17, 2),
    ("Ivan Sidorov", 44.96, 34.11, 1),
)
# a few sites, so emergencies and planned visits meet at one (bundling)
SITES = tuple(
    (uuid.uuid5(uuid.NAMESPACE_URL, f"fieldline-site-{k}"), 44.94 + 0.01 * k, 34.09 + 0.01 * k) for k in range(4)
)
NEEDS = [SkillNeed(skill="refrigeration", min_level=2)]

picks = st.integers(min_value=0, max_value=10_000)
# what a technician's app sends next in each status ("report": completed, or failed with one of the outcomes)
NEXT_STEP = {"offered": "accept", "accepted": "en_route", "en_route": "on_site", "on_site": "report"}
PROGRESS = list(NEXT_STEP)
STEPS_REPORTED = ["completed", "completed", *sorted(FAILURE_OUTCOMES)]

# dispatch's tables a command could change, the reset's list (conftest): the outbox is digested apart below, and a
# refused technician's command leaves its stored answer in mobile_commands for replay
_TABLES = tuple(t for t in DISPATCH_TABLES if t not in ("outbox", "mobile_commands"))
# everything a command could change, one digest per table (the outbox without the relay's bookkeeping)
_DIGEST = "(SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM dispatch.{0} x) AS {0}"
_DIGESTS = ", ".join(
    [_DIGEST.format(t) for t in _TABLES]
    + [
        "(SELECT md5(coalesce(string_agg((x.id, x.event_id, x.subject, x.payload)::text, '|' ORDER BY x.id), ''))"
        " FROM dispatch.outbox x) AS outbox",
        _DIGEST.format("mobile_commands"),
    ]
)


@dataclass
class World:
    """What lives across examples: one event loop, the app on it, a database connection, the clock."""

    loop: asyncio.AbstractEventLoop
    dispatch: Dispatch
    clock: Clock
    db: asyncpg.Connection
    broker: NATS  # the stand-ins for requests and contracts publish on it

    def run(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)


@dataclass
class Tracked:
    """An assignment as the last check saw it."""

    status: str
    technician_id: uuid.UUID
    steps: int  # rows in its history


@dataclass
class Filed:
    request_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str  # emergency, routine, planned
    site: int


@dataclass
class MobileSent:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    status_code: int
    answer: Any


def pick(items: list[T], index: int) -> T:
    return items[index % len(items)]


def problem_or_success(response: httpx.Response, what: str) -> None:
    """2xx, or a 4xx with a problem+json body saying what was wrong; never a 5xx."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON), f"{what}: {response.headers}"
        body = response.json()
        assert body["status"] == response.status_code and body.get("title"), f"{what}: {body}"
        assert isinstance(body.get("detail"), str) and body["detail"].strip(), f"{what}: no detail in {body}"


def _filed(machine: AssignmentLifecycle) -> bool:
    return bool(machine.filed)


def _booked(machine: AssignmentLifecycle) -> bool:
    return any(t.status in ACTIVE for t in machine.tracked.values())


class AssignmentLifecycle(RuleBasedStateMachine):
    world: World  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.technicians: list[tuple[uuid.UUID, str, int]] = []
        self.filed: list[Filed] = []
        self.cancelled: set[uuid.UUID] = set()
        self.tracked: dict[uuid.UUID, Tracked] = {}
        self.outbox_seen = 0  # the last outbox id the previous check read
        self.last_mobile: MobileSent | None = None

    # --- plumbing ------------------------------------------------------------------------------------------

    @property
    def dispatch(self) -> Dispatch:
        return self.world.dispatch

    @property
    def now(self) -> datetime:
        return self.world.clock.now

    def today(self, offset: int = 0) -> date:
        return self.now.astimezone(TZ).date() + timedelta(days=offset)

    def run(self, work: Awaitable[T]) -> T:
        return self.world.run(work)

    async def digests(self) -> dict[str, str]:
        return dict(await self.world.db.fetchrow(f"SELECT {_DIGESTS}"))  # type: ignore[arg-type]

    async def command(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Sends one command; checks the answer's form and that a refusal changed nothing."""
        before = await self.digests()
        response = await self.dispatch.client.request(method, path, headers=headers, json=body)
        problem_or_success(response, f"{method} {path} {body}")
        if 400 <= response.status_code < 500:
            after = await self.digests()
            mobile = path.startswith("/me/")
            changed = sorted(t for t in before if before[t] != after[t] and not (mobile and t == "mobile_commands"))
            assert not changed, f"{method} {path} was refused ({response.status_code}) but changed {changed}"
            if mobile:  # the refusal is stored for a replay, and that is all
                stored = await self.world.db.fetch(
                    "SELECT status_code FROM dispatch.mobile_commands WHERE client_command_id = $1",
                    uuid.UUID(body["client_command_id"]) if body else None,
                )
                assert [r["status_code"] for r in stored] == [response.status_code], stored
        return response

    async def mobile(self, technician_id: uuid.UUID, path: str, body: dict[str, Any]) -> httpx.Response:
        body = {**body, "client_command_id": str(uuid.uuid4())}
        headers = self.dispatch.technician(technician_id)
        response = await self.command("POST", path, headers, body)
        self.last_mobile = MobileSent(path, body, headers, response.status_code, response.json())
        return response

    async def assignments(self, active_only: bool) -> list[dict[str, Any]]:
        """Assignments in the order they were booked (their first history step), so picks repeat run to run."""
        rows = await self.world.db.fetch(
            "SELECT a.id, a.request_id, a.technician_id, a.status FROM dispatch.assignments a "
            "JOIN (SELECT assignment_id, min(id) AS first FROM dispatch.assignment_history GROUP BY assignment_id) h "
            "ON h.assignment_id = a.id "
            + ("WHERE a.status = ANY($1::text[]) " if active_only else "")
            + "ORDER BY h.first",
            *([list(ACTIVE)] if active_only else []),
        )
        return [dict(r) for r in rows]

    async def choose_assignment(self, index: int, status: str | None = None) -> dict[str, Any] | None:
        """Mostly an active assignment (the interesting ones); one pick in four from all of them. `status`: one in
        that status."""
        active = await self.assignments(active_only=True)
        if status is not None:
            active = [a for a in active if a["status"] == status]
            index = 4 * index + 1
        every = active if active and index % 4 else await self.assignments(active_only=False)
        return pick(every, index // 4) if every else None

    async def job_known(self, request_id: uuid.UUID) -> None:
        async def known() -> bool:
            return bool(await self.world.db.fetchval("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", request_id))

        await eventually(known, what=f"dispatch records job {request_id}", interval_s=0.005)

    # --- the day -------------------------------------------------------------------------------------------

    @initialize(emergencies=st.lists(st.integers(0, len(SITES) - 1), min_size=1, max_size=3))
    def fleet_and_first_emergencies(self, emergencies: list[int]) -> None:
        """A clean schema, the fleet on duty and a few emergencies booked: the lifecycle has work from the start."""

        async def start() -> None:
            await clean_dispatch_schema(self.world.db)
            self.world.clock.now = MONDAY_0800
            for name, lat, lon, level in FLEET:
                technician_id = await self.dispatch.add_technician(name, lat, lon, {"refrigeration": level})
                self.technicians.append((uuid.UUID(technician_id), name, level))

        self.run(start())
        for site in emergencies:
            self.file_emergency(site, 4)

    @rule(site=st.integers(0, len(SITES) - 1), due_hours=st.sampled_from([1, 4]))
    def file_emergency(self, site: int, due_hours: int) -> None:
        site_id, lat, lon = SITES[site]
        event = ServiceRequestCreated(
            request_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            site_id=site_id,
            kind="emergency",
            priority="P1",
            location=GeoPoint(lat=lat, lon=lon),
            required_skills=NEEDS,
            covered=True,
            response_due=self.now + timedelta(hours=due_hours),
            fix_due=self.now + timedelta(hours=2 * due_hours),
            estimated_duration_minutes=60,
            created_at=self.now,
        )
        self.run(self._file(event, event.request_id, event.customer_id, "emergency", site))

    @rule(site=st.integers(0, len(SITES) - 1), opens_in_hours=st.integers(0, 30), hours=st.integers(2, 10))
    def file_routine(self, site: int, opens_in_hours: int, hours: int) -> None:
        site_id, lat, lon = SITES[site]
        opens = self.now + timedelta(hours=opens_in_hours)
        event = ServiceRequestCreated(
            request_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            site_id=site_id,
            kind="routine",
            priority="P3",
            location=GeoPoint(lat=lat, lon=lon),
            required_skills=NEEDS,
            covered=True,
            estimated_duration_minutes=45,
            created_at=self.now,
            preferred_windows=[PreferredWindow(start=opens, end=opens + timedelta(hours=hours))],
        )
        self.run(self._file(event, event.request_id, event.customer_id, "routine", site))

    @rule(site=st.integers(0, len(SITES) - 1), opens_in_hours=st.integers(-2, 30), hours=st.integers(2, 48))
    def plan_visit(self, site: int, opens_in_hours: int, hours: int) -> None:
        site_id, lat, lon = SITES[site]
        opens = self.now + timedelta(hours=opens_in_hours)
        event = VisitPlanned(
            visit_id=uuid.uuid4(),
            contract_id=uuid.uuid4(),
            customer_id=uuid.uuid4(),
            site_id=site_id,
            location=GeoPoint(lat=lat, lon=lon),
            due_on=opens.date().isoformat(),
            window_start=opens,
            window_end=opens + timedelta(hours=hours),
            duration_minutes=30,
            skills=NEEDS,
            address=f"Kirova {site}",
        )
        self.run(self._file(event, event.visit_id, event.customer_id, "planned", site))

    async def _file(
        self,
        event: ServiceRequestCreated | VisitPlanned,
        request_id: uuid.UUID,
        customer_id: uuid.UUID,
        kind: str,
        site: int,
    ) -> None:
        await publish_on(self.world.broker, event, self.now)
        await self.job_known(request_id)
        self.filed.append(Filed(request_id, customer_id, kind, site))

    @precondition(_filed)
    @rule(which=picks, technician=picks, start_in=st.sampled_from([None, 0, 30, 90, 240]), lock=st.booleans())
    def assign(self, which: int, technician: int, start_in: int | None, lock: bool) -> None:
        job = pick(self.filed, which)
        technician_id = pick(self.technicians, technician)[0]
        body: dict[str, Any] = {"request_id": str(job.request_id), "technician_id": str(technician_id), "lock": lock}
        if start_in is not None:
            body["planned_start"] = (self.now + timedelta(minutes=start_in)).isoformat()
        self.run(self.command("POST", "/assignments", self.dispatch.dispatcher, body))

    @precondition(_booked)
    @rule(which=picks, technician=picks, start_in=st.sampled_from([None, 0, 30, 90, 240]), lock=st.booleans())
    def reassign(self, which: int, technician: int, start_in: int | None, lock: bool) -> None:
        async def go() -> None:
            row = await self.choose_assignment(which)
            if row is None:
                return
            body: dict[str, Any] = {"technician_id": str(pick(self.technicians, technician)[0]), "lock": lock}
            if start_in is not None:
                body["planned_start"] = (self.now + timedelta(minutes=start_in)).isoformat()
            await self.command("POST", f"/assignments/{row['id']}/reassign", self.dispatch.dispatcher, body)

        self.run(go())

    @precondition(_booked)
    @rule(which=picks)
    def technician_gets_on_with_the_job(self, which: int) -> None:
        """The technician furthest along takes the next step of the lifecycle (so whole visits get done)."""
        furthest = max(
            (t for t in self.tracked.items() if t[1].status in ACTIVE),
            key=lambda t: PROGRESS.index(t[1].status),
        )[1].status
        step = NEXT_STEP[furthest]
        self.technician_steps(which, pick(STEPS_REPORTED, which) if step == "report" else step, 1, furthest)

    @precondition(_booked)
    @rule(
        which=picks,
        step=st.sampled_from(["accept", "decline", "en_route", "on_site", *STEPS_REPORTED]),
        stranger=st.integers(0, 4),
    )
    def technician_steps(self, which: int, step: str, stranger: int, status: str | None = None) -> None:
        """The technician's app sends a step on one of their jobs (refused where the lifecycle forbids it), now and
        then on someone else's (refused). `status`: on one of the jobs in that status."""

        async def go() -> None:
            row = await self.choose_assignment(which, status)
            if row is None:
                return
            owner = row["technician_id"]
            others = [t for t, _, _ in self.technicians if t != owner]
            actor = pick(others, which) if stranger == 0 else owner
            target, path, body = self._mobile_step(row["id"], step)
            response = await self.mobile(actor, path, body)
            if actor != owner:
                assert response.status_code == 404, f"another technician's job: {response.status_code} {response.text}"
                return
            current = row["status"]
            allowed = current == target or target in ALLOWED.get(current, frozenset())
            expected = 200 if allowed else 409
            assert response.status_code == expected, (
                f"{step} of a {current} assignment: expected {expected}, got {response.status_code} {response.text}"
            )
            if allowed:
                assert response.json()["status"] == target, response.json()

        self.run(go())

    @staticmethod
    def _mobile_step(assignment_id: uuid.UUID, step: str) -> tuple[str, str, dict[str, Any]]:
        base = f"/me/assignments/{assignment_id}"
        if step == "accept":
            return "accepted", f"{base}/accept", {}
        if step == "decline":
            return "declined", f"{base}/decline", {"reason": "van broke down"}
        if step in ("en_route", "on_site"):
            return step, f"{base}/status", {"status": step}
        report: dict[str, Any] = {"outcome": step, "work_done": "checked the unit", "notes": ""}
        if step == "completed":
            return "completed", f"{base}/report", {**report, "signed_by": "M. Ivanova"}
        return "failed", f"{base}/report", report

    @precondition(lambda machine: machine.last_mobile is not None)
    @rule()
    def replay_last_technician_command(self) -> None:
        """A replayed offline queue: the same answer, nothing changed."""
        sent = self.last_mobile
        if sent is None:
            return

        async def go() -> None:
            before = await self.digests()
            response = await self.dispatch.client.post(sent.path, headers=sent.headers, json=sent.body)
            assert (response.status_code, response.json()) == (sent.status_code, sent.answer)
            assert await self.digests() == before, f"a replay of {sent.path} changed the database"

        self.run(go())

    @precondition(_booked)
    @rule(which=picks)
    def dispatcher_cancels_assignment(self, which: int) -> None:
        async def go() -> None:
            row = await self.choose_assignment(which)
            if row is None:
                return
            body = {"status": "cancelled", "reason": "the customer phoned: not today"}
            response = await self.command("POST", f"/assignments/{row['id']}/status", self.dispatch.dispatcher, body)
            current = row["status"]
            allowed = current == "cancelled" or "cancelled" in ALLOWED.get(current, frozenset())
            assert response.status_code == (200 if allowed else 409), (current, response.text)

        self.run(go())

    @precondition(_filed)
    @rule(which=picks)
    def cancel_request(self, which: int) -> None:
        """The customer (or, once the technician is on the way, a dispatcher) cancels; contracts cancel a visit."""
        job = pick(self.filed, which)

        async def go() -> None:
            statuses = await self.world.db.fetch(
                "SELECT a.status FROM dispatch.assignments a JOIN "
                "(SELECT assignment_id, min(id) AS first FROM dispatch.assignment_history GROUP BY assignment_id) h "
                "ON h.assignment_id = a.id WHERE a.request_id = $1 ORDER BY h.first",
                job.request_id,
            )
            live = [r["status"] for r in statuses if r["status"] not in ("cancelled", "declined")]
            if live and live[-1] in ("completed", "failed"):
                return  # requests' own lifecycle: a finished request is not cancelled any more
            event: ServiceRequestCancelled | VisitCancelled
            if job.kind == "planned":
                event = VisitCancelled(visit_id=job.request_id, contract_id=uuid.uuid4(), reason="contract suspended")
            else:
                started = bool(live) and live[-1] in ("en_route", "on_site")
                event = ServiceRequestCancelled(
                    request_id=job.request_id,
                    customer_id=job.customer_id,
                    cancelled_by="dispatcher" if started else "customer",
                    reason="fixed it ourselves",
                )
            await publish_on(self.world.broker, event, self.now)

            async def cancelled() -> bool:
                status = await self.world.db.fetchval(
                    "SELECT status FROM dispatch.jobs WHERE request_id = $1", job.request_id
                )
                return bool(status == "cancelled")

            await eventually(cancelled, what=f"dispatch cancels job {job.request_id}", interval_s=0.005)
            self.cancelled.add(job.request_id)

        self.run(go())

    @rule(offset=st.sampled_from([0, 0, 1]))
    def replan(self, offset: int) -> None:
        day = self.today(offset)
        body = {"reason": "dispatcher re-plans"}
        response = self.run(self.command("POST", f"/plans/{day}/replan", self.dispatch.dispatcher, body))
        assert response.status_code == 200, response.text

    @rule(technician=picks, hours=st.sampled_from([2, 8, 30]))
    def call_in_sick(self, technician: int, hours: int) -> None:
        technician_id = pick(self.technicians, technician)[0]
        body = {
            "kind": "sickness",
            "starts_at": self.now.isoformat(),
            "ends_at": (self.now + timedelta(hours=hours)).isoformat(),
        }
        response = self.run(
            self.command("POST", f"/technicians/{technician_id}/absences", self.dispatch.dispatcher, body)
        )
        assert response.status_code == 201, response.text

    @rule()
    def dispatcher_reads_the_board(self) -> None:
        """The live board judges every open job's SLA clock: it reads whatever state the steps left."""
        board = self.run(self.command("GET", "/board", self.dispatch.dispatcher))
        assert board.status_code == 200, board.text

    @rule(minutes=st.sampled_from([5, 25, 70, 180]))
    def time_passes(self, minutes: int) -> None:
        self.world.clock.advance(timedelta(minutes=minutes))

    # --- what must hold after every step -------------------------------------------------------------------

    @invariant()
    def database_is_consistent(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        db = self.world.db
        doubled = await db.fetch(
            "SELECT request_id, array_agg(id) AS ids FROM dispatch.assignments WHERE status = ANY($1::text[]) "
            "GROUP BY request_id HAVING count(*) > 1",
            list(ACTIVE),
        )
        assert not doubled, f"requests with two active assignments: {[dict(r) for r in doubled]}"
        overlapping = await db.fetch(
            "SELECT a.id AS first, b.id AS second, a.technician_id FROM dispatch.assignments a "
            "JOIN dispatch.assignments b ON a.technician_id = b.technician_id AND a.id < b.id "
            "AND tstzrange(a.planned_start, a.planned_end) && tstzrange(b.planned_start, b.planned_end) "
            "WHERE a.status = ANY($1::text[]) AND b.status = ANY($1::text[])",
            list(ACTIVE),
        )
        assert not overlapping, f"overlapping active bookings: {[dict(r) for r in overlapping]}"
        booked_while_cancelled = await db.fetch(
            "SELECT a.id, a.status, a.request_id FROM dispatch.assignments a JOIN dispatch.jobs j "
            "ON j.request_id = a.request_id WHERE j.status = 'cancelled' AND a.status = ANY($1::text[])",
            list(ACTIVE),
        )
        assert not booked_while_cancelled, (
            f"cancelled requests still booked: {[dict(r) for r in booked_while_cancelled]}"
        )
        jobs = {r["request_id"]: r["status"] for r in await db.fetch("SELECT request_id, status FROM dispatch.jobs")}
        assert {rid for rid in self.cancelled if jobs.get(rid) != "cancelled"} == set(), "a cancelled job came back"

        assignments = {r["id"]: dict(r) for r in await db.fetch("SELECT * FROM dispatch.assignments")}
        history: dict[uuid.UUID, list[str]] = {}
        for h in await db.fetch("SELECT assignment_id, status FROM dispatch.assignment_history ORDER BY id"):
            history.setdefault(h["assignment_id"], []).append(h["status"])
        outbox = [
            {"id": r["id"], "subject": r["subject"], "data": json.loads(r["data"])}
            for r in await db.fetch("SELECT id, subject, payload->'data' AS data FROM dispatch.outbox ORDER BY id")
        ]
        new_events = [e for e in outbox if e["id"] > self.outbox_seen]

        for a in assignments.values():
            if a["status"] in ACTIVE:
                assert jobs.get(a["request_id"]) == "assigned", (
                    f"assignment {a['id']} is {a['status']} but its job is {jobs.get(a['request_id'])}"
                )
        self._check_lifecycle(assignments, history, new_events)
        self._check_outbox(assignments, history, jobs, outbox)
        self.tracked = {
            a["id"]: Tracked(a["status"], a["technician_id"], len(history.get(a["id"], [])))
            for a in assignments.values()
        }
        self.outbox_seen = max((e["id"] for e in outbox), default=self.outbox_seen)

    def _check_lifecycle(
        self,
        assignments: dict[uuid.UUID, dict[str, Any]],
        history: dict[uuid.UUID, list[str]],
        new_events: list[dict[str, Any]],
    ) -> None:
        assert set(self.tracked) <= set(assignments), f"assignments vanished: {set(self.tracked) - set(assignments)}"
        for assignment_id, a in assignments.items():
            steps = history.get(assignment_id, [])
            assert steps and steps[0] == "offered", f"assignment {assignment_id} began as {steps[:1]}, not offered"
            before = self.tracked.get(assignment_id)
            seen = before.steps if before else 1
            path = [before.status if before else "offered", *steps[seen:]]
            for current, following in itertools.pairwise(path):
                assert following in ALLOWED.get(current, frozenset()), (
                    f"assignment {assignment_id} went from {current} to {following} (history {steps})"
                )
            moved = before is not None and before.technician_id != a["technician_id"]
            if moved:
                assert before is not None and before.status in ("offered", "accepted"), (
                    f"assignment {assignment_id} changed technician while {before.status}"
                )
                told = [
                    e
                    for e in new_events
                    if e["subject"] == AssignmentChanged.subject
                    and e["data"]["assignment_id"] == str(assignment_id)
                    and e["data"]["technician_id"] == str(a["technician_id"])
                ]
                assert len(told) == 1, f"assignment {assignment_id} moved to another technician; told {len(told)} times"
            if a["status"] != path[-1]:
                # the only status change outside the history: a booking moved to another technician is offered anew
                assert moved and (path[-1], a["status"]) == ("accepted", "offered"), (
                    f"assignment {assignment_id} is {a['status']} but its history ends {path[-1]} ({steps}); "
                    f"technician changed: {moved}"
                )

    def _check_outbox(
        self,
        assignments: dict[uuid.UUID, dict[str, Any]],
        history: dict[uuid.UUID, list[str]],
        jobs: dict[uuid.UUID, str],
        outbox: list[dict[str, Any]],
    ) -> None:
        created = Counter(e["data"]["assignment_id"] for e in outbox if e["subject"] == AssignmentCreated.subject)
        assert created == Counter(str(a) for a in assignments), (
            f"assignment.created per assignment: {dict(created)} for {sorted(map(str, assignments))}"
        )
        told: dict[str, list[str]] = {}
        for e in outbox:
            if e["subject"] == AssignmentStatusChanged.subject:
                told.setdefault(e["data"]["assignment_id"], []).append(e["data"]["status"])
            elif e["subject"] == AssignmentChanged.subject:
                assert uuid.UUID(e["data"]["assignment_id"]) in assignments, f"a change of an unknown assignment: {e}"
        for assignment_id in assignments:
            stepped = [event_status(s) for s in history.get(assignment_id, [])[1:]]
            events = told.pop(str(assignment_id), [])
            assert events == stepped, f"assignment {assignment_id}: history steps {stepped}, status events {events}"
        assert not told, f"status events of unknown assignments: {told}"
        unplaceable = {e["data"]["request_id"] for e in outbox if e["subject"] == RequestUnplaceable.subject}
        for request_id, status in jobs.items():
            if status == "unplaceable":
                assert str(request_id) in unplaceable, f"job {request_id} is unplaceable and nobody was told"


@contextlib.contextmanager
def world_on_a_loop(database_url: str, nats_server: NatsServer, keys: Keys) -> Iterator[World]:
    """The dispatch app on a loop of its own (Hypothesis' rules are plain functions), planning fast."""
    loop = asyncio.new_event_loop()
    stack = contextlib.AsyncExitStack()
    clock = Clock(MONDAY_0800)
    try:
        dispatch = loop.run_until_complete(
            stack.enter_async_context(
                dispatch_app(
                    database_url,
                    nats_server,
                    keys,
                    clock,
                    planner_time_limit_s=0.05,  # a handful of visits: the first solution is the plan
                    planner_processes=0,
                )
            )
        )
        db = loop.run_until_complete(asyncpg.connect(database_url))
        stack.push_async_callback(db.close)
        broker = loop.run_until_complete(nats.connect(dispatch.nats_url))
        stack.push_async_callback(broker.close)
        yield World(loop, dispatch, clock, db, broker)
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


@pytest.mark.slow  # a minute of Hypothesis runs: `make test-slow` (CI runs it after `make test`)
def test_the_assignment_lifecycle_keeps_its_invariants_whatever_happens(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    with world_on_a_loop(database_url, nats_server, keys) as world:

        class OnThisWorld(AssignmentLifecycle):
            pass

        OnThisWorld.world = world
        run_state_machine_as_test(OnThisWorld, settings=LIFECYCLE)


# --- what the stateful test found, kept as plain tests (they fail until dispatch is fixed) ---------------------------


def _emergency_at(site: int, now: datetime) -> ServiceRequestCreated:
    site_id, lat, lon = SITES[site]
    return ServiceRequestCreated(
        request_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        site_id=site_id,
        kind="emergency",
        priority="P1",
        location=GeoPoint(lat=lat, lon=lon),
        required_skills=NEEDS,
        covered=True,
        response_due=now + timedelta(hours=4),
        fix_due=now + timedelta(hours=8),
        estimated_duration_minutes=60,
        created_at=now,
    )


def _visit_at(site: int, opens: datetime, closes: datetime) -> VisitPlanned:
    site_id, lat, lon = SITES[site]
    return VisitPlanned(
        visit_id=uuid.uuid4(),
        contract_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        site_id=site_id,
        location=GeoPoint(lat=lat, lon=lon),
        due_on=opens.date().isoformat(),
        window_start=opens,
        window_end=closes,
        duration_minutes=30,
        skills=NEEDS,
        address=f"Kirova {site}",
    )


async def _active_booking(dispatch: Dispatch, request_id: uuid.UUID) -> dict[str, Any]:
    async def booked() -> list[asyncpg.Record]:
        return await dispatch.sql(
            "SELECT id, technician_id, status, planned_start, planned_end FROM dispatch.assignments "
            "WHERE request_id = $1 AND status = ANY($2::text[])",
            request_id,
            list(ACTIVE),
        )

    (row,) = await eventually(booked, what=f"request {request_id} is booked")
    return dict(row)


async def test_a_visit_bundled_into_an_emergency_keeps_the_technicians_acceptance(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Found by the stateful test: a visit the technician has accepted, bundled into an emergency at the same site
    for the same technician, went back to 'offered' with no step in its history and no status event
    (usecases/emergency.py _ride_along moves it with status='offered' whoever the technician is)."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *FLEET[0][1:3])
    due = _visit_at(0, clock.now - timedelta(hours=1), clock.now + timedelta(days=2))
    await dispatch.publish(due, occurred_at=clock.now)
    await eventually(lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", due.visit_id))
    assigned = await dispatch.client.post(
        "/assignments",
        headers=dispatch.dispatcher,
        json={
            "request_id": str(due.visit_id),
            "technician_id": anna,
            "planned_start": (clock.now + timedelta(hours=3)).isoformat(),
            "lock": False,
        },
    )
    assert assigned.status_code == 201, assigned.text
    visit_booking = assigned.json()["id"]
    accepted = await dispatch.client.post(
        f"/me/assignments/{visit_booking}/accept",
        headers=dispatch.technician(anna),
        json={"client_command_id": str(uuid.uuid4())},
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text

    urgent = _emergency_at(0, clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    await _active_booking(dispatch, urgent.request_id)
    (bundled,) = await dispatch.sql(
        "SELECT technician_id::text AS technician, status FROM dispatch.assignments WHERE id = $1",
        uuid.UUID(visit_booking),
    )
    assert bundled["technician"] == anna  # the same technician does both, in one stop
    assert bundled["status"] == "accepted", "an accepted visit went back to offered without a step of its lifecycle"


async def test_a_day_with_a_visit_bundled_ahead_of_its_window_can_be_replanned(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Found by the stateful test: an emergency takes along the site's visit due tomorrow (bundle_lookahead_hours),
    booked today right after it. Today's re-plan leaves that booking out of the planner's problem (its window is not
    today: replanning.snapshot skips it) yet keeps it in the database, so the planner puts other work on its slot
    and the re-plan is refused, 409 'a booking collided ... ex_assignments_no_overlap', every time it is tried."""
    dispatch = clocked_dispatch
    await dispatch.add_technician("Anna Koval", *FLEET[0][1:3])
    tomorrow = clock.now + timedelta(days=1)
    due = _visit_at(0, tomorrow, tomorrow + timedelta(hours=10))
    await dispatch.publish(due, occurred_at=clock.now)
    await eventually(lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", due.visit_id))
    urgent = _emergency_at(0, clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    emergency = await _active_booking(dispatch, urgent.request_id)
    riding = await _active_booking(dispatch, due.visit_id)
    assert riding["planned_start"] == emergency["planned_end"]  # bundled: today, straight after the emergency
    routine = ServiceRequestCreated(
        request_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        site_id=SITES[1][0],
        kind="routine",
        priority="P3",
        location=GeoPoint(lat=SITES[1][1], lon=SITES[1][2]),
        required_skills=NEEDS,
        covered=True,
        estimated_duration_minutes=45,
        created_at=clock.now,
        preferred_windows=[PreferredWindow(start=clock.now, end=clock.now + timedelta(hours=8))],
    )
    await dispatch.publish(routine, occurred_at=clock.now)
    await eventually(lambda: dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", routine.request_id))

    replanned = await dispatch.client.post(f"/plans/{clock.now.date()}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    assert (await _active_booking(dispatch, due.visit_id))["planned_start"] == riding["planned_start"]


async def test_a_request_cancelled_while_the_technician_is_on_site_follows_the_lifecycle(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    """Requests lets a dispatcher cancel a request whose technician is on site (services/requests/domain/lifecycle
    .cancellable), and dispatch's consumer (EmergencyPlacer.on_request_cancelled -> booking.cancel_assignment)
    cancels the on-site assignment without asking the lifecycle, which has no on_site -> cancelled: the same step
    through dispatch's own API is refused (409)."""
    dispatch = clocked_dispatch
    anna = await dispatch.add_technician("Anna Koval", *FLEET[0][1:3])
    urgent = _emergency_at(0, clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    booking = await _active_booking(dispatch, urgent.request_id)
    for path, body in (("accept", {}), ("status", {"status": "en_route"}), ("status", {"status": "on_site"})):
        clock.advance(timedelta(minutes=10))
        stepped = await dispatch.client.post(
            f"/me/assignments/{booking['id']}/{path}",
            headers=dispatch.technician(anna),
            json={**body, "client_command_id": str(uuid.uuid4())},
        )
        assert stepped.status_code == 200, stepped.text

    cancelled = ServiceRequestCancelled(
        request_id=urgent.request_id, customer_id=urgent.customer_id, cancelled_by="dispatcher", reason="not needed"
    )
    await dispatch.publish(cancelled, occurred_at=clock.now)

    async def job_status() -> str:
        (job,) = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", urgent.request_id)
        return str(job["status"])

    await eventually(job_status, lambda s: s == "cancelled", what="dispatch hears of the cancellation")
    steps = [
        r["status"]
        for r in await dispatch.sql(
            "SELECT status FROM dispatch.assignment_history WHERE assignment_id = $1 ORDER BY id", booking["id"]
        )
    ]
    for current, following in itertools.pairwise(steps):
        assert following in ALLOWED.get(current, frozenset()), f"{current} -> {following} in {steps}"


async def test_a_started_visit_the_planner_leaves_out_keeps_its_job_booked(
    database_url: str, nats_server: NatsServer, keys: Keys, clock: Clock
) -> None:
    """Found by the stateful test (now and then: the time-limited planner sometimes leaves a started visit out of
    its plan): Replanner.persist sets every job the plan left out back to 'open', the job of a visit that is en route
    or on site too, which it rightly does not cancel. The emergency then reads as waiting while its technician drives
    to it, and the retry of waiting emergencies tries to book it again against the one-active-assignment index. The
    planner here is a stand-in that leaves everything out, so the case does not depend on the search's luck."""
    async with dispatch_app(database_url, nats_server, keys, clock, planner_processes=0) as dispatch:
        await _started_visit_left_out(dispatch, clock)


def _leaves_everything_out(problem: PlanningProblem, travel: Any, options: Any) -> Plan:
    left_out = tuple(UnassignedVisit(v.id, v.priority, UnassignedReason.PINNED_INFEASIBLE) for v in problem.visits)
    return Plan(SolveStatus.FEASIBLE, (), left_out, PlanKpis(0.0, 0, len(left_out), 0.0, 0.0, 0, 0.0, 0.0))


async def _started_visit_left_out(dispatch: Dispatch, clock: Clock) -> None:
    anna = await dispatch.add_technician("Anna Koval", *FLEET[0][1:3])
    urgent = _emergency_at(0, clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    booking = await _active_booking(dispatch, urgent.request_id)
    for path, body in (("accept", {}), ("status", {"status": "en_route"})):
        stepped = await dispatch.client.post(
            f"/me/assignments/{booking['id']}/{path}",
            headers=dispatch.technician(anna),
            json={**body, "client_command_id": str(uuid.uuid4())},
        )
        assert stepped.status_code == 200, stepped.text

    dispatch.app.state.dispatch.replanner.planner = _leaves_everything_out
    replanned = await dispatch.client.post(f"/plans/{clock.now.date()}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    assert (await _active_booking(dispatch, urgent.request_id))["status"] == "en_route"
    (job,) = await dispatch.sql("SELECT status FROM dispatch.jobs WHERE request_id = $1", urgent.request_id)
    assert job["status"] == "assigned", "the job of a visit en route was reopened"
