"""Every query of the dispatch service."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import asyncpg
from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import (
    DateTime,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random

from services.dispatch.db import tables as t
from services.dispatch.domain.calendar import Absence, ShiftSpan
from shared.messaging import mark_outbox_written

ACTIVE = t.ACTIVE_ASSIGNMENT_STATUSES
_ACTIVE_SQL = "('offered', 'accepted', 'en_route', 'on_site')"


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


def _lat(column: Any, name: str) -> Any:
    return ST_Y(cast(column, Geometry)).label(name)


def _lon(column: Any, name: str) -> Any:
    return ST_X(cast(column, Geometry)).label(name)


class DoubleBooking(Exception):
    """The database refused a booking: the technician is busy then, or the request is already booked."""


def _deadlocked(exc: BaseException) -> bool:
    """Two bookings that overlap, inserted at once, can each wait on the other's row of the exclusion constraint:
    PostgreSQL then aborts one of them with SQLSTATE 40P01 (deadlock detected)."""
    if isinstance(exc, asyncpg.DeadlockDetectedError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "40P01"


# A booking that lost a deadlock is tried again: this time it waits for the other booking and sees it commit (a
# conflict) or roll back (the slot is free), instead of being refused for a booking that may never land.
def _retrying_deadlocks() -> AsyncRetrying:
    return AsyncRetrying(retry=retry_if_exception(_deadlocked), stop=stop_after_attempt(5),
                         wait=wait_random(0, 0.02), reraise=True)


@dataclass(frozen=True)
class OutboxRow:
    event_id: uuid.UUID
    subject: str
    payload_json: str


@dataclass(frozen=True)
class NewAssignment:
    id: uuid.UUID
    request_id: uuid.UUID
    technician_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime


# --- the emergency hot path: hand-written SQL run as asyncpg prepared statements (no per-row ORM/result work) --


@cache
def _candidates_sql(skill_count: int) -> str:
    """Planar KNN over live positions (GiST on position::geometry), then the nearest on shift by true distance.

    One statement per number of skills asked for: `skills ->> $n` compared to a literal parameter is far
    cheaper per row than expanding a jsonb of needs.
    """
    skilled = "".join(f" AND coalesce((t.skills ->> ${8 + 2 * k})::int, 0) >= ${9 + 2 * k}::int"
                      for k in range(skill_count))
    return f"""
        WITH nearest AS (
            SELECT t.id, t.first_name, t.skills, t.route_version, t.overtime_minutes, t.break_ends_at,
                   t.position::geometry AS here, t.home_base::geometry AS home,
                   (SELECT s.ends_at FROM shifts s
                     WHERE s.technician_id = t.id AND s.starts_at <= $3 AND s.ends_at > $3 LIMIT 1) AS shift_end
            FROM technicians t
            WHERE t.active AND t.id <> ALL($6::uuid[]){skilled}
            ORDER BY t.position::geometry <-> ST_SetSRID(ST_MakePoint($2, $1), 4326)
            LIMIT $7
        ), reached AS (
            SELECT n.*, ST_DistanceSphere(n.here, ST_SetSRID(ST_MakePoint($2, $1), 4326)) AS distance_m
            FROM nearest n WHERE n.shift_end IS NOT NULL
        )
        SELECT id, first_name, skills, route_version, overtime_minutes, shift_end, distance_m, break_ends_at,
               ST_Y(here) AS lat, ST_X(here) AS lon, ST_Y(home) AS home_lat, ST_X(home) AS home_lon
        FROM reached WHERE distance_m <= $4 ORDER BY distance_m LIMIT $5"""


_BOOKINGS_AHEAD_SQL = f"""
    SELECT a.id, a.request_id, a.customer_id, a.technician_id, a.status, a.planned_start, a.planned_end, a.eta,
           a.locked, j.window_end, j.response_due, j.kind, j.lat, j.lon
    FROM assignments a
    CROSS JOIN LATERAL (
        -- one index lookup per booking (a plain join makes the planner hash all of jobs)
        SELECT window_end, response_due, kind, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon
        FROM jobs WHERE request_id = a.request_id LIMIT 1) j
    WHERE a.technician_id = ANY($1::uuid[]) AND a.status IN {_ACTIVE_SQL}
      AND (a.planned_end > $2 OR a.status IN ('en_route', 'on_site')) AND a.planned_start < $3
    ORDER BY a.technician_id, a.planned_start"""

_DUE_VISITS_AT_SITE_SQL = f"""
    SELECT j.request_id, j.window_start, j.window_end, j.duration_minutes, j.required_skills, j.customer_id,
           a.id AS assignment_id, a.status AS assignment_status, a.technician_id
    FROM jobs j LEFT JOIN assignments a ON a.request_id = j.request_id AND a.status IN {_ACTIVE_SQL}
    WHERE j.site_id = $1 AND j.kind = 'planned' AND j.status IN ('open', 'assigned') AND j.request_id <> $2
    FOR UPDATE OF j"""

# one statement books an emergency: claims the route at the version the decision saw (nothing happens if it
# moved), pushes the later bookings, inserts the booking and its history, marks the job, writes every event
# to the outbox and queues the day's re-plan. The no-overlap constraint (deferrable) is checked at its end.
_BOOK_EMERGENCY_SQL = f"""
    WITH claimed AS (
        UPDATE technicians SET route_version = route_version + 1
        WHERE id = $1 AND route_version = $2 RETURNING id
    ), pushed AS (
        UPDATE assignments AS a
        SET planned_start = v.starts, planned_end = v.ends, eta = v.eta, updated_at = now(), version = a.version + 1
        FROM claimed, unnest($3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
             AS v(id, starts, ends, eta)
        WHERE a.id = v.id AND a.technician_id = claimed.id AND a.status IN {_ACTIVE_SQL}
        RETURNING a.id
    ), booked AS (
        INSERT INTO assignments (id, request_id, technician_id, customer_id, status, planned_start, planned_end, eta)
        SELECT $7, $8, claimed.id, $9, $10, $11, $12, $13 FROM claimed
        RETURNING id, status, planned_start
    ), recorded AS (
        INSERT INTO assignment_history (assignment_id, status, at) SELECT id, status, planned_start FROM booked
    ), assigned AS (
        UPDATE jobs SET status = 'assigned', unplaceable_reason = NULL
        WHERE request_id = $8 AND EXISTS (SELECT FROM claimed)
    ), announced AS (
        INSERT INTO outbox (event_id, subject, payload)
        SELECT e.event_id, e.subject, e.payload::jsonb
        FROM claimed, unnest($14::uuid[], $15::text[], $16::text[]) AS e(event_id, subject, payload)
    ), queued AS (
        INSERT INTO replan_requests (day, reason) SELECT $17, $18 FROM claimed
    )
    SELECT (SELECT count(*) FROM claimed) AS claimed, (SELECT count(*) FROM pushed) AS pushed"""


@cache
def _add_job_sql() -> str:
    columns = [c.name for c in t.jobs.c if c.name != "location"]
    return ("INSERT INTO jobs (request_id, customer_id, site_id, kind, priority, location, required_skills, "
            "response_due, fix_due, duration_minutes, status, contract_id, description, equipment_ids, window_start, "
            "window_end, contact_name, contact_phone, address) VALUES ($1, $2, $3, $4, $5, "
            "ST_SetSRID(ST_MakePoint($7, $6), 4326)::geography, $8::jsonb, $9, $10, $11, $12, $13, $14, $15::jsonb, "
            "$16, $17, $18, $19, $20) ON CONFLICT DO NOTHING RETURNING "
            + ", ".join(columns) + ", ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon")


@dataclass(frozen=True)
class EmergencyBooking:
    """Everything one emergency booking writes, in one statement."""

    technician_id: uuid.UUID
    route_version: int
    pushed: Sequence[tuple[uuid.UUID, datetime, datetime, datetime]]  # (assignment, start, end, eta)
    assignment: NewAssignment
    events: Sequence[OutboxRow]
    replan_day: date
    replan_reason: str


class DispatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._asyncpg: tuple[object, asyncpg.Connection] | None = None  # (the session's transaction, its connection)

    async def _driver(self) -> asyncpg.Connection:
        """The asyncpg connection under this session's transaction, for the hot path's prepared statements."""
        transaction = self.session.get_transaction()
        if self._asyncpg is not None and transaction is not None and self._asyncpg[0] is transaction:
            return self._asyncpg[1]
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        if not driver.is_in_transaction():
            await connection.exec_driver_sql("SELECT 1")  # SQLAlchemy issues the BEGIN of its transaction
        self._asyncpg = (self.session.get_transaction(), driver)
        return driver

    @asynccontextmanager
    async def booking_attempt(self) -> AsyncIterator[None]:
        """A savepoint: a booking the database refuses rolls back to it (DoubleBooking), the transaction lives on."""
        driver = await self._driver()
        await driver.execute("SAVEPOINT booking_attempt")
        try:
            yield
        except (asyncpg.IntegrityConstraintViolationError, IntegrityError, asyncpg.DeadlockDetectedError) as exc:
            # a deadlock is a collision too: another booking of that technician was being written at that moment
            await driver.execute("ROLLBACK TO SAVEPOINT booking_attempt")
            raise DoubleBooking(str(getattr(exc, "orig", None) or exc)) from exc
        except Exception:
            await driver.execute("ROLLBACK TO SAVEPOINT booking_attempt")
            raise
        await driver.execute("RELEASE SAVEPOINT booking_attempt")

    async def book_emergency(self, booking: EmergencyBooking) -> bool:
        """Writes the booking unless the route moved since it was read (False: nothing was written)."""
        a, pushed, events = booking.assignment, booking.pushed, booking.events
        row = await (await self._driver()).fetchrow(
            _BOOK_EMERGENCY_SQL, booking.technician_id, booking.route_version,
            [p[0] for p in pushed], [p[1] for p in pushed], [p[2] for p in pushed], [p[3] for p in pushed],
            a.id, a.request_id, a.customer_id, a.status, a.planned_start, a.planned_end, a.eta,
            [e.event_id for e in events], [e.subject for e in events], [e.payload_json for e in events],
            booking.replan_day, booking.replan_reason)
        assert row is not None
        if not row["claimed"]:
            return False
        if row["pushed"] != len(pushed):
            raise DoubleBooking(f"{len(pushed) - row['pushed']} of the bookings to push later are no longer active")
        mark_outbox_written(self.session)
        return True

    # --- technicians ---------------------------------------------------------------------------------

    async def add_technician(self, technician_id: uuid.UUID, name: str, first_name: str, skills: dict[str, int],
                             lat: float, lon: float, weekly_shifts: dict[str, Any] | None = None,
                             territory: str | None = None, overtime_minutes: int = 60) -> None:
        point = point_wkt(lat, lon)
        await self.session.execute(insert(t.technicians).values(
            id=technician_id, name=name, first_name=first_name, skills=skills, home_base=point, position=point,
            weekly_shifts=weekly_shifts, territory=territory, overtime_minutes=overtime_minutes))

    def _technician_columns(self) -> tuple[Any, ...]:
        tech = t.technicians
        return (
            tech.c.id, tech.c.name, tech.c.first_name, tech.c.skills, tech.c.status, tech.c.active,
            _lat(tech.c.home_base, "home_lat"), _lon(tech.c.home_base, "home_lon"),
            _lat(tech.c.position, "lat"), _lon(tech.c.position, "lon"), tech.c.position_at,
            tech.c.weekly_shifts, tech.c.territory, tech.c.overtime_minutes, tech.c.route_version,
            tech.c.break_ends_at,
        )

    async def get_technician(self, technician_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(*self._technician_columns()).where(t.technicians.c.id == technician_id)
        if for_update:
            query = query.with_for_update(of=t.technicians)
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def list_technicians(self, ids: Sequence[uuid.UUID] | None = None) -> list[dict[str, Any]]:
        query = select(*self._technician_columns()).order_by(t.technicians.c.name)
        if ids is not None:
            query = query.where(t.technicians.c.id.in_(list(ids)))
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def set_weekly_shifts(self, technician_id: uuid.UUID, pattern: dict[str, Any] | None) -> None:
        await self.session.execute(update(t.technicians).where(t.technicians.c.id == technician_id)
                                   .values(weekly_shifts=pattern))

    async def set_technician_status(self, technician_id: uuid.UUID, status: str,
                                    break_ends_at: datetime | None = None) -> None:
        """The technician's status; `break_ends_at` is kept only while on a break (any other status clears it)."""
        await self.session.execute(update(t.technicians).where(t.technicians.c.id == technician_id)
                                   .values(status=status, break_ends_at=break_ends_at))

    async def move_technician(self, technician_id: uuid.UUID, at: datetime, lat: float, lon: float) -> None:
        """The live position follows the newest ping only (batches may arrive out of order)."""
        tech = t.technicians
        await self.session.execute(update(tech).where(
            tech.c.id == technician_id, or_(tech.c.position_at.is_(None), tech.c.position_at < at))
            .values(position=point_wkt(lat, lon), position_at=at))

    async def add_pings(self, technician_id: uuid.UUID, pings: Sequence[tuple[datetime, float, float, int | None]]
                        ) -> int:
        if not pings:
            return 0
        result = await self.session.execute(pg_insert(t.position_pings).values([
            {"technician_id": technician_id, "at": at, "position": point_wkt(lat, lon), "accuracy_m": accuracy}
            for at, lat, lon, accuracy in pings]).on_conflict_do_nothing().returning(t.position_pings.c.at))
        return len(result.all())

    async def bump_route_version(self, technician_id: uuid.UUID, seen: int | None = None) -> bool:
        """Claims the technician's route for a change; False when someone changed it since `seen`."""
        tech = t.technicians
        query = update(tech).where(tech.c.id == technician_id)
        if seen is not None:
            query = query.where(tech.c.route_version == seen)
        result = await self.session.execute(query.values(route_version=tech.c.route_version + 1)
                                            .returning(tech.c.id))
        return result.first() is not None

    async def bump_route_versions(self, technician_ids: Sequence[uuid.UUID]) -> None:
        if technician_ids:
            tech = t.technicians
            await self.session.execute(update(tech).where(tech.c.id.in_(sorted(set(technician_ids))))
                                       .values(route_version=tech.c.route_version + 1))

    # --- shift calendar ------------------------------------------------------------------------------

    async def add_absence(self, technician_id: uuid.UUID, kind: str, starts_at: datetime, ends_at: datetime,
                          note: str) -> uuid.UUID:
        absence_id = uuid.uuid4()
        await self.session.execute(insert(t.absences).values(
            id=absence_id, technician_id=technician_id, kind=kind, starts_at=starts_at, ends_at=ends_at, note=note))
        return absence_id

    async def absences_between(self, technician_ids: Sequence[uuid.UUID] | None, start: datetime,
                               end: datetime) -> dict[uuid.UUID, list[Absence]]:
        a = t.absences
        query = select(a).where(a.c.starts_at < end, a.c.ends_at > start).order_by(a.c.starts_at)
        if technician_ids is not None:
            query = query.where(a.c.technician_id.in_(list(technician_ids)))
        found: dict[uuid.UUID, list[Absence]] = {}
        for r in await self.session.execute(query):
            found.setdefault(r.technician_id, []).append(Absence(r.starts_at, r.ends_at, r.kind))
        return found

    async def replace_shifts(self, technician_id: uuid.UUID, days: Sequence[date],
                             spans: Sequence[ShiftSpan]) -> None:
        s = t.shifts
        await self.session.execute(delete(s).where(s.c.technician_id == technician_id, s.c.day.in_(list(days))))
        if spans:
            await self.session.execute(insert(s).values([{
                "technician_id": technician_id, "day": span.day, "starts_at": span.starts_at,
                "ends_at": span.ends_at, "break_minutes": span.break_minutes,
                "break_earliest": span.break_earliest, "break_latest": span.break_latest} for span in spans]))

    async def shifts_of_day(self, day: date) -> list[dict[str, Any]]:
        """Active technicians with a shift on `day`, with everything the planner needs of them."""
        tech, s = t.technicians, t.shifts
        rows = await self.session.execute(
            select(*self._technician_columns(), s.c.starts_at, s.c.ends_at, s.c.break_minutes,
                   s.c.break_earliest, s.c.break_latest)
            .join(s, s.c.technician_id == tech.c.id)
            .where(s.c.day == day, tech.c.active.is_(True)).order_by(tech.c.id))
        return [dict(r._mapping) for r in rows]

    async def shift_of(self, technician_id: uuid.UUID, day: date) -> dict[str, Any] | None:
        s = t.shifts
        row = (await self.session.execute(select(s).where(s.c.technician_id == technician_id, s.c.day == day))).first()
        return dict(row._mapping) if row else None

    async def breaks_taken_since(self, technician_ids: Sequence[uuid.UUID] | None,
                                 since: datetime) -> dict[uuid.UUID, datetime]:
        """Per technician, the end of the latest break started through the mobile API that ends after `since`.

        The break commands' stored answers are the only record of breaks already over (`break_ends_at` on the
        technician lasts only while the break does); their `break_ends_at` is on the service's clock.
        """
        m = t.mobile_commands
        ends = cast(m.c.response["break_ends_at"].astext, DateTime(timezone=True))
        query = (select(m.c.technician_id, func.max(ends).label("ends_at"))
                 .where(m.c.kind == "break", m.c.status_code == 200, m.c.response["status"].astext == "on_break",
                        ends > since)
                 .group_by(m.c.technician_id))
        if technician_ids is not None:
            query = query.where(m.c.technician_id.in_(list(technician_ids)))
        return {r.technician_id: r.ends_at for r in await self.session.execute(query)}

    async def candidates(self, lat: float, lon: float, skills: dict[str, int], now: datetime, reach_m: float,
                         limit: int, exclude: Sequence[uuid.UUID] = ()) -> list[dict[str, Any]]:
        """Active technicians on shift now with every skill at its level, within reach, nearest first (KNN)."""
        needs = [arg for skill, level in sorted(skills.items()) for arg in (skill, level)]
        # the nearest on the plane, then those of them on shift by true distance
        rows = await (await self._driver()).fetch(_candidates_sql(len(skills)), lat, lon, now, reach_m, limit,
                                                  list(exclude), limit * 4, *needs)
        return [dict(r) for r in rows]

    async def bookings_ahead(self, technician_ids: Sequence[uuid.UUID], now: datetime,
                             until: datetime) -> list[dict[str, Any]]:
        """Active bookings of these technicians not finished by `now`, with what each must still keep."""
        if not technician_ids:
            return []
        return [dict(r) for r in await (await self._driver()).fetch(_BOOKINGS_AHEAD_SQL, list(technician_ids),
                                                                    now, until)]

    async def declined_by(self, request_id: uuid.UUID) -> list[uuid.UUID]:
        a = t.assignments
        rows = await self.session.execute(select(a.c.technician_id).where(
            a.c.request_id == request_id, a.c.status == "declined"))
        return [r.technician_id for r in rows]

    # --- jobs ----------------------------------------------------------------------------------------

    def _job_columns(self) -> tuple[Any, ...]:
        j = t.jobs
        return (*(c for c in j.c if c.name != "location"), _lat(j.c.location, "lat"), _lon(j.c.location, "lon"))

    async def add_job(self, job: dict[str, Any], lat: float, lon: float) -> dict[str, Any] | None:
        """Records new work; returns it as `get_job` would (locked: it is ours), None if it was known already."""
        row = await (await self._driver()).fetchrow(
            _add_job_sql(), job["request_id"], job["customer_id"], job["site_id"], job["kind"], job["priority"], lat,
            lon, json.dumps(job["required_skills"]), job["response_due"], job["fix_due"], job["duration_minutes"],
            job["status"], job["contract_id"], job["description"], json.dumps(job["equipment_ids"]),
            job["window_start"], job["window_end"], job["contact_name"], job["contact_phone"], job["address"])
        return dict(row) if row is not None else None

    async def upsert_visit(self, values: dict[str, Any]) -> bool:
        """A planned visit as contracts last described it; an older event than the one applied changes nothing."""
        j = t.jobs
        changes = {k: v for k, v in values.items() if k not in ("request_id", "status")}
        result = await self.session.execute(
            pg_insert(j).values(**values)
            .on_conflict_do_update(index_elements=[j.c.request_id], set_=changes,
                                   where=or_(j.c.source_version.is_(None),
                                             j.c.source_version < values["source_version"]))
            .returning(j.c.request_id))
        return result.first() is not None

    async def set_job_status(self, request_id: uuid.UUID, status: str, reason: str | None = None,
                             bundled_with: uuid.UUID | None = None) -> None:
        values: dict[str, Any] = {"status": status, "unplaceable_reason": reason}
        if bundled_with is not None:
            values["bundled_with"] = bundled_with
        await self.session.execute(update(t.jobs).where(t.jobs.c.request_id == request_id).values(**values))

    async def get_job(self, request_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(*self._job_columns()).where(t.jobs.c.request_id == request_id)
        if for_update:
            query = query.with_for_update(of=t.jobs)
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def jobs(self, request_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        if not request_ids:
            return {}
        rows = await self.session.execute(select(*self._job_columns()).where(
            t.jobs.c.request_id.in_(list(request_ids))))
        return {r.request_id: dict(r._mapping) for r in rows}

    async def due_visits_at_site(self, site_id: uuid.UUID, exclude: uuid.UUID) -> list[dict[str, Any]]:
        """Planned visits of a site not yet done, with their active booking's status if any."""
        return [dict(r) for r in await (await self._driver()).fetch(_DUE_VISITS_AT_SITE_SQL, site_id, exclude)]

    async def plannable_jobs(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Open work whose window meets [start, end), and work booked to start in it."""
        j, a = t.jobs, t.assignments
        booked_in_day = exists().where(a.c.request_id == j.c.request_id, a.c.status.in_(ACTIVE),
                                       a.c.planned_start >= start, a.c.planned_start < end)
        booked_at_all = exists().where(a.c.request_id == j.c.request_id, a.c.status.in_(ACTIVE))
        open_in_window = and_(j.c.status == "open", j.c.kind != "emergency", ~booked_at_all,
                              or_(j.c.window_start.is_(None), j.c.window_start < end),
                              or_(j.c.window_end.is_(None), j.c.window_end > start))
        rows = await self.session.execute(select(*self._job_columns())
                                          .where(or_(booked_in_day, open_in_window)).order_by(j.c.request_id))
        return [dict(r._mapping) for r in rows]

    async def open_jobs(self) -> list[dict[str, Any]]:
        j = t.jobs
        rows = await self.session.execute(select(*self._job_columns())
                                          .where(j.c.status.in_(("open", "unplaceable", "assigned")))
                                          .order_by(j.c.response_due.nulls_last(), j.c.created_at))
        return [dict(r._mapping) for r in rows]

    # --- assignments ---------------------------------------------------------------------------------

    async def book(self, assignment: NewAssignment) -> None:
        """Insert under the database's constraints; raises DoubleBooking and leaves the transaction usable.

        Bookings of one technician queue on a lock of that technician first: two overlapping rows inserted at once
        would each wait on the other's in the exclusion constraint, a deadlock PostgreSQL breaks only after a second.
        """
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                                   {"key": f"dispatch.technician:{assignment.technician_id}"})
        async for attempt in _retrying_deadlocks():  # a deadlock with another kind of booking (an emergency's)
            with attempt:
                try:
                    async with self.session.begin_nested():
                        await self.session.execute(insert(t.assignments).values(
                            id=assignment.id, request_id=assignment.request_id,
                            technician_id=assignment.technician_id, customer_id=assignment.customer_id,
                            status=assignment.status, planned_start=assignment.planned_start,
                            planned_end=assignment.planned_end, eta=assignment.eta,
                        ))
                except IntegrityError as exc:
                    raise DoubleBooking(str(exc.orig)) from exc
        await self.add_history(assignment.id, assignment.status, assignment.planned_start)

    async def defer_overlap_check(self) -> None:
        """Check no-overlap at commit: a route moves as a whole within one transaction."""
        await self.session.execute(text("SET CONSTRAINTS ex_assignments_no_overlap DEFERRED"))

    async def check_overlap_now(self) -> None:
        """Runs the deferred no-overlap check at once (raises IntegrityError if broken)."""
        await self.session.execute(text("SET CONSTRAINTS ex_assignments_no_overlap IMMEDIATE"))

    async def get_assignment(self, assignment_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(t.assignments).where(t.assignments.c.id == assignment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def assignments_of(self, technician_id: uuid.UUID, start: datetime | None = None,
                             end: datetime | None = None) -> list[dict[str, Any]]:
        a = t.assignments
        query = select(a).where(a.c.technician_id == technician_id)
        if start is not None and end is not None:
            query = query.where(a.c.planned_start < end, a.c.planned_end > start)
        return [dict(r._mapping) for r in await self.session.execute(query.order_by(a.c.planned_start))]

    async def assignments_between(self, start: datetime, end: datetime,
                                  technician_ids: Sequence[uuid.UUID] | None = None) -> list[dict[str, Any]]:
        """Every booking (any status) meeting [start, end), with its site (`site_lat`, `site_lon`); no row locks."""
        a, j = t.assignments, t.jobs
        query = (select(a, _lat(j.c.location, "site_lat"), _lon(j.c.location, "site_lon"))
                 .select_from(a.outerjoin(j, j.c.request_id == a.c.request_id))
                 .where(a.c.planned_start < end, a.c.planned_end > start)
                 .order_by(a.c.technician_id, a.c.planned_start))
        if technician_ids is not None:
            query = query.where(a.c.technician_id.in_(list(technician_ids)))
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def active_bookings_between(self, technician_id: uuid.UUID, start: datetime, end: datetime,
                                      exclude: uuid.UUID | None = None, limit: int | None = None
                                      ) -> list[dict[str, Any]]:
        """The technician's active bookings meeting [start, end), by start (but `exclude`)."""
        a = t.assignments
        query = select(a).where(a.c.technician_id == technician_id, a.c.status.in_(ACTIVE),
                                a.c.planned_start < end, a.c.planned_end > start)
        if exclude is not None:
            query = query.where(a.c.id != exclude)
        rows = await self.session.execute(query.order_by(a.c.planned_start).limit(limit))
        return [dict(r._mapping) for r in rows]

    async def overlapping(self, technician_id: uuid.UUID, start: datetime, end: datetime,
                          exclude: uuid.UUID | None = None) -> dict[str, Any] | None:
        """The first active booking that clashes with [start, end), if any."""
        clashes = await self.active_bookings_between(technician_id, start, end, exclude, limit=1)
        return clashes[0] if clashes else None

    async def set_assignment_status(self, assignment_id: uuid.UUID, status: str, at: datetime,
                                    position: tuple[float, float] | None, detail: dict[str, Any],
                                    outcome: str | None = None, report: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": func.now(), "last_transition_at": at,
                                  "version": t.assignments.c.version + 1}
        if outcome is not None:
            values["outcome"] = outcome
        if report is not None:
            values["report"] = report
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(**values))
        await self.add_history(assignment_id, status, at, position, detail)

    async def move_assignment(self, assignment_id: uuid.UUID, *, planned_start: datetime, planned_end: datetime,
                              eta: datetime, technician_id: uuid.UUID | None = None,
                              status: str | None = None) -> None:
        values: dict[str, Any] = {"planned_start": planned_start, "planned_end": planned_end, "eta": eta,
                                  "updated_at": func.now(), "version": t.assignments.c.version + 1}
        if technician_id is not None:
            values["technician_id"] = technician_id
        if status is not None:
            values["status"] = status
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(**values))

    async def overrunning(self, now: datetime, grace: timedelta) -> list[dict[str, Any]]:
        """Jobs on site past their planned end plus `grace`, not noticed within the last `grace` (locked, skipping
        any another replica holds)."""
        a, j = t.assignments, t.jobs
        rows = await self.session.execute(
            select(a.c.id, a.c.request_id, a.c.technician_id, a.c.planned_start, a.c.planned_end, j.c.address,
                   j.c.kind)
            .join(j, j.c.request_id == a.c.request_id)
            .where(a.c.status == "on_site", a.c.planned_end < now - grace,
                   or_(a.c.overran_at.is_(None), a.c.overran_at < now - grace))
            .order_by(a.c.planned_end)
            .with_for_update(of=a, skip_locked=True))
        return [dict(r._mapping) for r in rows]

    async def mark_overran(self, assignment_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id)
                                   .values(overran_at=at))

    async def set_locked(self, assignment_id: uuid.UUID, locked: bool) -> None:
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(
            locked=locked, version=t.assignments.c.version + 1))

    async def add_history(self, assignment_id: uuid.UUID, status: str, at: datetime,
                          position: tuple[float, float] | None = None, detail: dict[str, Any] | None = None) -> None:
        await self.session.execute(insert(t.assignment_history).values(
            assignment_id=assignment_id, status=status, at=at,
            position=point_wkt(*position) if position else None, detail=detail or {}))

    async def active_assignments_for_request(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.assignments).where(t.assignments.c.request_id == request_id,
                                        t.assignments.c.status.in_(ACTIVE))
            .with_for_update())
        return [dict(r._mapping) for r in rows]

    async def active_assignments_of_requests(self, request_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """The active booking of each of these requests (at most one each); a read: no row locks."""
        if not request_ids:
            return {}
        a = t.assignments
        rows = await self.session.execute(select(a).where(a.c.request_id.in_(list(request_ids)),
                                                          a.c.status.in_(ACTIVE)))
        return {r.request_id: dict(r._mapping) for r in rows}

    async def active_assignments_between(self, start: datetime, end: datetime, *,
                                         for_update: bool = False) -> list[dict[str, Any]]:
        a = t.assignments
        query = (select(a).where(a.c.status.in_(ACTIVE), a.c.planned_start >= start, a.c.planned_start < end)
                 .order_by(a.c.technician_id, a.c.planned_start))
        if for_update:
            query = query.with_for_update()
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def site_history(self, site_ids: Sequence[uuid.UUID], before: datetime,
                           limit: int = 5) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Finished work at these sites: what dispatch itself saw done there."""
        a, j = t.assignments, t.jobs
        if not site_ids:
            return {}
        rows = await self.session.execute(
            select(j.c.site_id, a.c.request_id, j.c.kind, a.c.status, a.c.outcome, a.c.report,
                   a.c.last_transition_at.label("finished_at"))
            .join(j, j.c.request_id == a.c.request_id)
            .where(j.c.site_id.in_(list(site_ids)), a.c.status.in_(("completed", "failed")),
                   a.c.last_transition_at < before)
            .order_by(a.c.last_transition_at.desc()))
        found: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for r in rows:
            if len(found.setdefault(r.site_id, [])) < limit:
                found[r.site_id].append(dict(r._mapping))
        return found

    # --- plans ---------------------------------------------------------------------------------------

    async def latest_plan(self, day: date) -> dict[str, Any] | None:
        p = t.plans
        row = (await self.session.execute(select(p).where(p.c.day == day).order_by(p.c.version.desc())
                                          .limit(1))).first()
        return dict(row._mapping) if row else None

    async def add_plan(self, values: dict[str, Any]) -> int:
        """Stores the next version of the day's plan; versions only grow (the unique key backs it)."""
        p = t.plans
        version = (await self.session.execute(
            select(func.coalesce(func.max(p.c.version), 0) + 1).where(p.c.day == values["day"]))).scalar_one()
        await self.session.execute(insert(p).values(**values, version=version))
        return int(version)

    async def try_plan_lock(self, day: date) -> bool:
        """The day's planner lock, held until the transaction ends: one re-plan per day at a time."""
        return bool((await self.session.execute(
            select(func.pg_try_advisory_xact_lock(func.hashtext(f"dispatch-plan:{day.isoformat()}"))))).scalar())

    async def request_replan(self, day: date, reason: str) -> None:
        await self.session.execute(insert(t.replan_requests).values(day=day, reason=reason))

    async def pending_replans(self) -> dict[date, tuple[int, list[str]]]:
        """Per day waiting for a re-plan: the newest request id and the distinct reasons."""
        r = t.replan_requests
        found: dict[date, tuple[int, list[str]]] = {}
        for row in await self.session.execute(select(r.c.id, r.c.day, r.c.reason).order_by(r.c.id)):
            _, reasons = found.get(row.day, (0, []))
            if row.reason not in reasons:
                reasons.append(row.reason)
            found[row.day] = (row.id, reasons)
        return found

    async def clear_replans(self, day: date, up_to_id: int) -> None:
        r = t.replan_requests
        await self.session.execute(delete(r).where(r.c.day == day, r.c.id <= up_to_id))

    # --- mobile commands -----------------------------------------------------------------------------

    async def get_command(self, client_command_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.mobile_commands).where(
            t.mobile_commands.c.client_command_id == client_command_id))).first()
        return dict(row._mapping) if row else None

    async def save_command(self, client_command_id: uuid.UUID, technician_id: uuid.UUID, kind: str,
                           status_code: int, response: Any) -> bool:
        result = await self.session.execute(pg_insert(t.mobile_commands).values(
            client_command_id=client_command_id, technician_id=technician_id, kind=kind, status_code=status_code,
            response=response).on_conflict_do_nothing().returning(t.mobile_commands.c.client_command_id))
        return result.first() is not None

    # --- SLA alerts ----------------------------------------------------------------------------------

    async def raise_alert(self, request_id: uuid.UUID, kind: str, predicted: datetime | None, reason: str) -> bool:
        """True the first time only."""
        result = await self.session.execute(pg_insert(t.sla_alerts).values(
            request_id=request_id, kind=kind, predicted_arrival=predicted, reason=reason)
            .on_conflict_do_nothing().returning(t.sla_alerts.c.request_id))
        return result.first() is not None
