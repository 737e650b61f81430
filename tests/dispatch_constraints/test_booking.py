"""The database refuses double bookings: one technician never has two overlapping active bookings, one
request never has two active assignments, however many replicas try at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from services.dispatch.db import tables as t
from services.dispatch.db.bookings import DoubleBooking
from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.records import NewAssignment
from services.dispatch.settings import Settings
from shared.db import Database, create_engine

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    # the 100 sessions share 20 connections: PostgreSQL allows 100 in all, and other test runs need theirs
    database = Database(create_engine(Settings(database_url=database_url, db_pool_size=10)))
    yield database
    await database.dispose()


def booking(
    technician_id: uuid.UUID, start: datetime, minutes: int = 120, *, request_id: uuid.UUID | None = None
) -> NewAssignment:
    return NewAssignment(
        id=uuid.uuid4(),
        request_id=request_id or uuid.uuid4(),
        technician_id=technician_id,
        customer_id=uuid.uuid4(),
        status="offered",
        planned_start=start,
        planned_end=start + timedelta(minutes=minutes),
        eta=start,
        booked_at=start - timedelta(hours=1),
    )


async def book(db: Database, assignment: NewAssignment, hold_s: float = 0.0) -> bool:
    """Book in a session of its own; True if it committed, False on DoubleBooking."""
    try:
        async with db.transaction() as session:
            await DispatchRepository(session).book(assignment)
            await asyncio.sleep(hold_s)  # keep the booking uncommitted while the others try
    except DoubleBooking:
        return False
    return True


async def rows_where(db: Database, *conditions: object) -> int:
    async with db.transaction() as session:
        return int(
            (await session.execute(select(func.count()).select_from(t.assignments).where(*conditions))).scalar_one()
        )


async def test_a_hundred_concurrent_overlapping_bookings_of_one_technician_admit_exactly_one(db: Database) -> None:
    technician = uuid.uuid4()
    # slot i starts i minutes after the first and lasts two hours: every pair overlaps
    attempts = [booking(technician, BASE + timedelta(minutes=i)) for i in range(100)]
    outcomes = await asyncio.gather(*(book(db, a, hold_s=0.05) for a in attempts))
    assert outcomes.count(True) == 1
    assert outcomes.count(False) == 99
    assert await rows_where(db, t.assignments.c.technician_id == technician) == 1
    winner = attempts[outcomes.index(True)]
    async with db.transaction() as session:
        history = await session.execute(
            select(t.assignment_history.c.assignment_id).where(
                t.assignment_history.c.assignment_id.in_([a.id for a in attempts])
            )
        )
        assert [r[0] for r in history] == [winner.id], "only the winner left a history row"


async def test_back_to_back_bookings_fit_and_a_cancelled_booking_frees_its_slot(db: Database) -> None:
    technician = uuid.uuid4()
    morning = booking(technician, BASE)
    assert await book(db, morning)
    assert await book(db, booking(technician, BASE + timedelta(minutes=120))), "ends where the next starts"
    assert await book(db, booking(uuid.uuid4(), BASE)), "another technician at the same time"
    assert not await book(db, booking(technician, BASE + timedelta(minutes=119), minutes=5))
    async with db.transaction() as session:
        await DispatchRepository(session).set_assignment_status(morning.id, "cancelled", BASE, None, {})
    assert await book(db, booking(technician, BASE + timedelta(minutes=30), minutes=60))


async def test_one_request_never_has_two_active_assignments(db: Database) -> None:
    request = uuid.uuid4()
    first = booking(uuid.uuid4(), BASE, request_id=request)
    assert await book(db, first)
    assert not await book(db, booking(uuid.uuid4(), BASE + timedelta(days=1), request_id=request))
    async with db.transaction() as session:
        await DispatchRepository(session).set_assignment_status(first.id, "completed", BASE, None, {})
    assert await book(db, booking(uuid.uuid4(), BASE + timedelta(days=2), request_id=request)), (
        "once the first is finished the request may be booked again"
    )
    active = t.assignments.c.status.in_(t.ACTIVE_ASSIGNMENT_STATUSES)
    assert await rows_where(db, t.assignments.c.request_id == request, active) == 1
    assert await rows_where(db, t.assignments.c.request_id == request) == 2


async def test_concurrent_bookings_of_one_request_by_different_technicians_admit_exactly_one(db: Database) -> None:
    request = uuid.uuid4()
    # different technicians and days: only the one-active-assignment-per-request index can refuse them
    attempts = [booking(uuid.uuid4(), BASE + timedelta(days=i), request_id=request) for i in range(20)]
    outcomes = await asyncio.gather(*(book(db, a, hold_s=0.05) for a in attempts))
    assert outcomes.count(True) == 1
    assert await rows_where(db, t.assignments.c.request_id == request) == 1


async def test_a_refused_booking_leaves_the_transaction_usable(db: Database) -> None:
    technician = uuid.uuid4()
    assert await book(db, booking(technician, BASE))
    async with db.transaction() as session:
        repo = DispatchRepository(session)
        with pytest.raises(DoubleBooking):
            await repo.book(booking(technician, BASE + timedelta(minutes=10)))
        await repo.book(booking(technician, BASE + timedelta(hours=3)))  # the same transaction books the next slot
    assert await rows_where(db, t.assignments.c.technician_id == technician) == 2
