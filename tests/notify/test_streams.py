"""Live streams: a reconnect with Last-Event-ID resumes exactly where it left off; ids commit in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from services.notify.db.streams import StreamRepository
from services.notify.domain.audience import customer_stream
from services.notify.usecases.live_streams import prune_streams
from shared.auth import Role
from shared.db import Database
from shared.events.common import GeoPoint
from shared.events.dispatch import AssignmentCreated, TechnicianMoved
from tests.notify.conftest import Notify
from tests.notify.support import at, customer_request, publish
from tests.support.polling import eventually


async def read_events(
    base_url: str, token: str, count: int, last_event_id: str | None = "0", opened: list[str] | None = None
) -> list[dict[str, Any]]:
    """Connect, take `count` SSE events, disconnect. From the start of the stream unless `last_event_id` says
    otherwise (None: only what arrives once it is open); the opening frame's id, if any, goes into `opened`."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    events: list[dict[str, Any]] = []
    frame: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", f"{base_url}/streams/me", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async with asyncio.timeout(15):
            async for line in response.aiter_lines():
                if line.startswith("id: "):
                    frame["id"] = line[4:]
                elif line.startswith("event: "):
                    frame["event"] = line[7:]
                elif line.startswith("data: "):
                    frame["data"] = json.loads(line[6:])
                elif line == "" and "id" in frame and "event" not in frame:
                    if opened is not None:
                        opened.append(frame["id"])  # the opening frame: where the stream starts
                    frame = {}
                elif line == "" and "id" in frame:
                    events.append(frame)
                    frame = {}
                    if len(events) == count:
                        return events
    raise AssertionError("stream ended early")


async def test_a_reconnect_with_last_event_id_receives_exactly_the_missed_messages(notify: Notify) -> None:
    customer = uuid.uuid4()
    token = notify.keys.token(Role.CUSTOMER, customer_id=customer)
    before = [customer_request(customer) for _ in range(3)]
    for event in before:
        await publish(notify.js, event)
    first = await read_events(notify.url, token, 3)
    assert [e["data"]["request_id"] for e in first] == [str(e.request_id) for e in before]
    assert {e["event"] for e in first} == {"request.received"}

    missed = [customer_request(customer) for _ in range(3)]  # published while nobody listens
    for event in missed:
        await publish(notify.js, event)
    resumed = await read_events(notify.url, token, 3, last_event_id=first[-1]["id"])
    assert [e["data"]["request_id"] for e in resumed] == [str(e.request_id) for e in missed]
    ids = [int(e["id"]) for e in first + resumed]
    assert ids == sorted(ids) and len(set(ids)) == 6


async def test_the_technician_stream_gets_new_assignments_as_before(notify: Notify) -> None:
    technician, customer = uuid.uuid4(), uuid.uuid4()
    assigned = AssignmentCreated(
        assignment_id=uuid.uuid4(),
        request_id=uuid.uuid4(),
        customer_id=customer,
        technician_id=technician,
        technician_first_name="Anna",
        status="offered",
        planned_start=at(30),
        planned_end=at(90),
        eta=at(30),
    )
    await publish(notify.js, assigned)
    (pushed,) = await read_events(notify.url, notify.keys.token(Role.TECHNICIAN, technician_id=technician), 1)
    assert pushed["event"] == "assignment.created"
    assert pushed["data"]["request_id"] == str(assigned.request_id)
    assert pushed["data"]["technician_id"] == str(technician)
    (seen,) = await read_events(notify.url, notify.keys.token(Role.CUSTOMER, customer_id=customer), 1)
    assert seen["event"] == "request.assigned"
    assert set(seen["data"]) == {"request_id", "technician_first_name", "eta", "status"}


async def _push(db: Database, stream: str, kind: str) -> None:
    async with db.transaction() as session:
        await StreamRepository(session).push(stream, kind, {}, uuid.uuid4())


async def _a_writer_waits_on_a_stream_lock(db: Database) -> bool:
    async with db.transaction() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
            )
        )
    return bool(waiting)


async def test_a_later_writer_to_a_stream_waits_for_the_earlier_to_commit(notify: Notify) -> None:
    """Otherwise a reader could see id n+1 commit first, move its cursor past n, and never see n."""
    stream = customer_stream(uuid.uuid4())
    async with notify.db.transaction() as first:
        await StreamRepository(first).push(stream, "test.first", {}, uuid.uuid4())
        second = asyncio.create_task(_push(notify.db, stream, "test.second"))
        await eventually(lambda: _a_writer_waits_on_a_stream_lock(notify.db), what="second writer blocked")
        assert not second.done()
    await second
    async with notify.db.transaction() as session:
        rows = await StreamRepository(session).read_after([stream], 0)
    assert [r.event for r in rows] == ["test.first", "test.second"]


async def test_the_dispatchers_stream_carries_technicians_positions(notify: Notify) -> None:
    technician = uuid.uuid4()
    async with notify.db.transaction() as session:  # what other tests left on the dispatchers' stream
        seen = await session.scalar(text("SELECT coalesce(max(id), 0) FROM notify.stream_messages"))
    moved = TechnicianMoved(technician_id=technician, position=GeoPoint(lat=44.95, lon=34.1), at=at(), accuracy_m=8)
    await publish(notify.js, moved)
    (frame,) = await read_events(notify.url, notify.keys.token(Role.DISPATCHER), 1, last_event_id=str(seen))
    assert frame["event"] == "technician.moved"
    assert frame["data"]["technician_id"] == str(technician)
    assert frame["data"]["position"] == {"lat": 44.95, "lon": 34.1}


async def test_messages_past_the_retention_are_pruned_and_the_newer_kept(notify: Notify) -> None:
    for kind in ("old", "old", "new"):
        await _push(notify.db, "dispatchers", kind)
    async with notify.db.transaction() as session:
        await session.execute(
            text("UPDATE notify.stream_messages SET created_at = now() - interval '49 hours' WHERE kind = 'old'")
        )
    assert await prune_streams(notify.db, timedelta(hours=48), page=1) == 2  # page by page until none is left
    async with notify.db.transaction() as session:
        ours = text("SELECT kind FROM notify.stream_messages WHERE kind IN ('old', 'new')")
        left = (await session.execute(ours)).scalars().all()
    assert left == ["new"]


async def test_a_stream_opened_without_last_event_id_starts_at_its_end_and_says_where(notify: Notify) -> None:
    """A new console, app or portal page reads its state when the stream opens: what came before is not replayed
    (the dispatchers' stream holds two days of positions), and a reconnect resumes after the id it was given."""
    customer = uuid.uuid4()
    token = notify.keys.token(Role.CUSTOMER, customer_id=customer)
    old = customer_request(customer)
    await publish(notify.js, old)
    await read_events(notify.url, token, 1)  # it is on the stream (read from the start)

    opened: list[str] = []
    new = customer_request(customer)
    reader = asyncio.create_task(read_events(notify.url, token, 1, last_event_id=None, opened=opened))

    async def is_open() -> bool:
        return bool(opened)

    await eventually(is_open, what="the stream's opening frame")
    await publish(notify.js, new)
    (first,) = await reader
    assert first["data"]["request_id"] == str(new.request_id)  # not the old one
    assert int(opened[0]) < int(first["id"])
    (again,) = await read_events(notify.url, token, 1, last_event_id=opened[0])  # a reconnect from the opening id
    assert again["data"]["request_id"] == str(new.request_id)
