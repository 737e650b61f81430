"""The KPIs summed in SQL: the same figures as the definition in domain/kpis.py, in a fixed number of statements.

Job histories are written straight into the service's tables (as its consumers would leave them), then the
SQL tallies are compared with `compute_kpis` over the same records, for every bucket and grouping.
"""

from __future__ import annotations

import contextvars
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, insert

from services.requests.db import tables as t
from services.requests.domain.kpis import Bucket, GroupBy, JobRecord, KpiPolicy, Visit, compute_kpis
from services.requests.domain.lifecycle import AssignmentView
from services.requests.usecases.quality import quality_kpis
from shared.auth import Role
from shared.db import Database
from shared.events.common import RequestKind
from tests.requests.conftest import RequestsService
from tests.requests.test_kpis_computation import T0 as SCENARIO_T0
from tests.requests.test_kpis_computation import _scenario

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
# days cut in the company's time zone: the histories below run through its midnights, not UTC's
POLICY = KpiPolicy(on_time_tolerance=15 * M, repeat_window=30 * D, timezone=ZoneInfo("Europe/Simferopol"))


@dataclass
class StoredJob:
    """A job as its rows: the request, each visit's `reached` map, the survey answer."""

    record: JobRecord
    visits: list[AssignmentView] = field(default_factory=list)


def _visit(view: AssignmentView) -> Visit:
    """A stored visit as the definition sees it (what the repository used to build before the SQL)."""
    return Visit(
        technician_id=view.technician_id,
        booked_at=view.booked_at,
        promised_eta=view.promised_eta,
        on_site_at=view.reached_at("on_site"),
        completed_at=view.reached_at("completed"),
        failed_at=view.reached_at("failed"),
        cancelled=view.status == "cancelled",
    )


def _with_visits(record: JobRecord, views: list[AssignmentView]) -> StoredJob:
    return StoredJob(JobRecord(**{**record.__dict__, "visits": tuple(_visit(v) for v in views)}), views)


async def _store(db: Database, jobs: list[StoredJob]) -> None:
    async with db.transaction() as session:
        for job in jobs:
            r = job.record
            await session.execute(
                insert(t.service_requests).values(
                    id=r.request_id,
                    customer_id=r.customer_id,
                    site_id=r.site_id,
                    equipment_id=r.equipment_id,
                    contract_id=r.contract_id,
                    kind=r.kind,
                    priority="P2",
                    status="new",
                    covered=True,
                    billable=False,
                    response_due=r.response_due,
                    fix_due=r.fix_due,
                    cancelled_at=r.cancelled_at,
                    follow_up_of=r.follow_up_of,
                    idempotency_key=str(r.request_id),
                    request_fingerprint="",
                    created_at=r.created_at,
                )
            )
            for view in job.visits:
                await session.execute(
                    insert(t.request_assignments).values(
                        assignment_id=view.assignment_id,
                        request_id=r.request_id,
                        technician_id=view.technician_id,
                        booked_at=view.booked_at,
                        promised_eta=view.promised_eta,
                        reached={status: at.isoformat() for status, at in view.reached},
                    )
                )
            if r.csat is not None:
                completed = r.created_at + D
                await session.execute(
                    insert(t.surveys).values(
                        id=uuid.uuid4(),
                        request_id=r.request_id,
                        customer_id=r.customer_id,
                        completed_at=completed,
                        expires_at=completed + 30 * D,
                        answered_at=completed + H,
                        csat=r.csat,
                        nps=r.nps,
                    )
                )


def _scenario_jobs() -> list[StoredJob]:
    """The hand-computed scenario of test_kpis_computation.py, as rows."""
    stored = []
    for record in _scenario():
        views = []
        for visit in record.visits:
            reached = [
                (status, at)
                for status, at in (
                    ("offered", visit.booked_at),
                    ("on_site", visit.on_site_at),
                    ("completed", visit.completed_at),
                    ("failed", visit.failed_at),
                )
                if at is not None
            ]
            if visit.cancelled:
                reached.append(("cancelled", visit.booked_at + M))
            views.append(
                AssignmentView(
                    assignment_id=uuid.uuid4(),
                    technician_id=visit.technician_id,
                    booked_at=visit.booked_at,
                    promised_eta=visit.promised_eta,
                    reached=tuple(sorted(reached, key=lambda item: (item[1], item[0]))),
                )
            )
        stored.append(_with_visits(record, views))
    return stored


def _random_jobs(seed: int, t0: datetime, customer: uuid.UUID, count: int = 160) -> list[StoredJob]:
    """Histories of every shape: late and early, cancelled, failed, reassigned, follow-ups, two endings."""
    rng = random.Random(seed)
    technicians, units = [uuid.uuid4() for _ in range(3)], [uuid.uuid4() for _ in range(3)]
    sites, contracts = [uuid.uuid4() for _ in range(2)], [uuid.uuid4() for _ in range(2)]
    tick = iter(range(1, 10_000_000))

    def moment(base: datetime, minutes: float) -> datetime:
        # a distinct microsecond each: ties would leave "first" to the row order, which SQL does not promise
        return base + timedelta(minutes=minutes, microseconds=next(tick))

    jobs: list[StoredJob] = []
    followed: set[uuid.UUID] = set()
    for _ in range(count):
        created = moment(t0, rng.uniform(0, 16 * 24 * 60))
        original = rng.choice(jobs).record if jobs and rng.random() < 0.15 else None
        if original is not None and (original.request_id in followed or original.created_at >= created):
            original = None
        if original is not None:
            followed.add(original.request_id)
        views = []
        for _ in range(rng.choice((0, 1, 1, 1, 2, 3))):
            booked = moment(created, rng.uniform(0, 120))
            reached = [("offered", booked)]
            on_site = moment(booked, rng.uniform(10, 400)) if rng.random() < 0.75 else None
            if on_site is not None:
                reached.append(("on_site", on_site))
            after = on_site or booked
            for ending in rng.sample(("completed", "failed", "cancelled"), k=rng.choice((0, 1, 1, 1, 2))):
                reached.append((ending, moment(after, rng.uniform(5, 600))))
            views.append(
                AssignmentView(
                    assignment_id=uuid.uuid4(),
                    technician_id=rng.choice(technicians),
                    booked_at=booked,
                    promised_eta=moment(booked, rng.uniform(20, 300)) if rng.random() < 0.85 else None,
                    reached=tuple(sorted(reached, key=lambda item: (item[1], item[0]))),
                )
            )
        answered = rng.random() < 0.4
        record = JobRecord(
            request_id=uuid.uuid4(),
            created_at=created,
            customer_id=customer,
            site_id=rng.choice(sites),
            kind=rng.choice(("emergency", "routine", "planned")),
            equipment_id=rng.choice([*units, None]),
            contract_id=rng.choice([*contracts, None]),
            response_due=created + rng.choice((2, 4, 8)) * H if rng.random() < 0.8 else None,
            fix_due=created + rng.choice((4, 8, 24)) * H if rng.random() < 0.8 else None,
            cancelled_at=moment(created, rng.uniform(1, 200)) if rng.random() < 0.1 else None,
            follow_up_of=original.request_id if original else None,
            csat=rng.randint(1, 5) if answered else None,
            nps=rng.randint(0, 10) if answered and rng.random() < 0.8 else None,
        )
        jobs.append(_with_visits(record, views))
    return jobs


def _selected(
    jobs: list[StoredJob], since: datetime, until: datetime, filters: dict[str, uuid.UUID]
) -> list[JobRecord]:
    """What the definition is given: the filtered requests filed in the period or the repeat window after it."""
    return [
        j.record
        for j in jobs
        if since <= j.record.created_at < until + POLICY.repeat_window
        and all(getattr(j.record, name) == value for name, value in filters.items())
    ]


async def _assert_sql_matches_the_definition(
    db: Database,
    jobs: list[StoredJob],
    *,
    since: datetime,
    until: datetime,
    as_of: datetime,
    filters: dict[str, uuid.UUID],
    kind: RequestKind | None = None,
) -> int:
    compared = 0
    for bucket in get_args(Bucket):
        for group_by in get_args(GroupBy):
            async with db.transaction() as session:
                in_sql = await quality_kpis(
                    session,
                    period_from=since,
                    period_to=until,
                    as_of=as_of,
                    bucket=bucket,
                    group_by=group_by,
                    filters=filters,
                    policy=POLICY,
                    kind=kind,
                )
            defined = compute_kpis(
                _selected(jobs, since, until, filters),
                period_from=since,
                period_to=until,
                as_of=as_of,
                bucket=bucket,
                group_by=group_by,
                policy=POLICY,
                kind=kind,
            )
            assert in_sql == defined, (bucket, group_by)
            compared += len(defined)
    return compared


async def test_sql_tallies_the_hand_computed_scenario_like_the_definition(service: RequestsService) -> None:
    db: Database = service.app.state.runtime.db
    jobs = _scenario_jobs()
    await _store(db, jobs)
    customer = jobs[0].record.customer_id
    compared = await _assert_sql_matches_the_definition(
        db,
        jobs,
        since=SCENARIO_T0,
        until=SCENARIO_T0 + 7 * D,
        as_of=SCENARIO_T0 + 20 * D,
        filters={"customer_id": customer},
    )
    assert compared > 24  # not an empty report compared with an empty report


@pytest.mark.parametrize("seed", [1, 2])
async def test_sql_tallies_random_histories_like_the_definition(service: RequestsService, seed: int) -> None:
    db: Database = service.app.state.runtime.db
    customer = uuid.uuid4()
    t0 = datetime(2025, 6, 2, 6, 0, tzinfo=UTC)
    jobs = _random_jobs(seed, t0, customer)
    await _store(db, jobs)
    since, until = t0 + 2 * D, t0 + 12 * D
    # as of the middle of the period: some deadlines have passed, some have not
    for as_of in (t0 + 8 * D, t0 + 40 * D):
        assert (
            await _assert_sql_matches_the_definition(
                db, jobs, since=since, until=until, as_of=as_of, filters={"customer_id": customer}
            )
            > 100
        )
    for kind in get_args(RequestKind):  # one kind counted, repeat visits by later requests of any kind
        assert (
            await _assert_sql_matches_the_definition(
                db, jobs, since=since, until=until, as_of=t0 + 8 * D, filters={"customer_id": customer}, kind=kind
            )
            > 20
        )
    some = jobs[0].record
    for filters in (
        {"customer_id": customer, "site_id": some.site_id},
        {"customer_id": customer, "contract_id": some.contract_id or uuid.uuid4()},
        {"equipment_id": next(j.record.equipment_id for j in jobs if j.record.equipment_id)},
    ):
        await _assert_sql_matches_the_definition(db, jobs, since=since, until=until, as_of=t0 + 8 * D, filters=filters)


# --- through the endpoint ------------------------------------------------------------------------------

_measuring: contextvars.ContextVar[bool] = contextvars.ContextVar("measuring", default=False)


@dataclass
class Reads:
    statements: int = 0
    rows: int = 0


@contextmanager
def _reads(service: RequestsService) -> Iterator[Reads]:
    """Statements and rows the database returns to code running in this context (not the relay or consumers)."""
    engine = service.app.state.runtime.db.engine.sync_engine
    reads = Reads()

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if _measuring.get():
            reads.statements += 1

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if _measuring.get():
            reads.rows += max(cursor.rowcount, 0)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    token = _measuring.set(True)
    try:
        yield reads
    finally:
        _measuring.reset(token)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


async def _complete_jobs(
    service: RequestsService, customer: uuid.UUID, site: uuid.UUID, technician: uuid.UUID, count: int
) -> None:
    for _ in range(count):
        request = await service.file(customer, site, equipment_id=str(uuid.uuid4()))
        t0 = request["created_at"]
        booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 30 * M, technician_id=technician)
        await service.dispatch.moved(booking, "on_site", at=t0 + 25 * M)
        await service.dispatch.moved(booking, "completed", at=t0 + 70 * M, previous="on_site")
    await service.drained()


async def test_the_kpi_endpoint_reads_aggregates_whatever_the_number_of_requests(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    staff = service.keys.headers(Role.CONTRACT_MANAGER)
    now = service.clock.now()
    params = {
        "customer_id": str(customer),
        "from": (now - H).isoformat(),
        "to": (now + 3 * H).isoformat(),
        "group_by": "technician",
    }

    async def measured() -> tuple[Reads, dict[str, Any]]:
        with _reads(service) as reads:
            response = await service.client.get("/kpis", params=params, headers=staff)
        assert response.status_code == 200, response.text
        [row] = response.json()["rows"]
        return reads, row

    technician = uuid.uuid4()
    await _complete_jobs(service, customer, site, technician, 3)
    few, row = await measured()
    assert (row["requests"], row["fix_sla"]["hits"], row["mean_response_minutes"]) == (3, 3, 25.0)
    await _complete_jobs(service, customer, site, technician, 27)
    many, row = await measured()
    assert (row["requests"], row["fix_sla"]["hits"], row["mean_response_minutes"]) == (30, 30, 25.0)
    assert few.statements > 0 and many.statements == few.statements
    assert many.rows == few.rows  # one row per group comes back, not one per request or visit


async def test_a_job_filed_before_the_period_starts_is_left_out(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    staff = service.keys.headers(Role.CONTRACT_MANAGER)
    early = await service.file(customer, site)
    booking = await service.dispatch.booked(early, at=early["created_at"], eta=early["created_at"] + M)
    await service.dispatch.moved(booking, "on_site", at=early["created_at"] + 2 * M)
    # completed a microsecond after it was filed: done before the period below starts
    await service.dispatch.moved(
        booking, "completed", at=early["created_at"] + timedelta(microseconds=1), previous="on_site"
    )
    await service.drained()
    period_start = early["created_at"] + timedelta(microseconds=2)
    service.clock.advance(timedelta(seconds=1))  # the service's clock stands still until moved
    late = await service.file(customer, site)
    assert late["created_at"] > period_start

    async def requests_from(since: datetime, until: datetime | None = None) -> int:
        window = {
            "customer_id": str(customer),
            "from": since.isoformat(),
            "to": (until or late["created_at"] + H).isoformat(),
        }
        response = await service.client.get("/kpis", params=window, headers=staff)
        assert response.status_code == 200, response.text
        return sum(row["requests"] for row in response.json()["rows"])

    assert await requests_from(early["created_at"]) == 2  # the start is inclusive
    assert await requests_from(period_start) == 1
    assert await requests_from(early["created_at"], until=late["created_at"]) == 1  # the end is exclusive
