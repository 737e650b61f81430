"""The emergency hot path's bookings: what a decision reads of the candidates' routes (``bookings_ahead``) and
the one statement that books it (``book_emergency``), hand-written SQL run as asyncpg prepared statements (no
per-row ORM/result work), inside a savepoint that turns the database's refusal into ``DoubleBooking``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from sqlalchemy.exc import IntegrityError

from services.dispatch.db.bookings import DoubleBooking
from services.dispatch.db.common import ACTIVE_SQL, SessionRepository
from services.dispatch.domain.records import BookingAhead, NewAssignment
from shared.db import records
from shared.messaging import OutboxRow, mark_outbox_written


@dataclass(frozen=True)
class EmergencyBooking:
    """Everything one emergency booking writes, in one statement."""

    technician_id: uuid.UUID
    route_version: int
    # (assignment, start, end, eta, whether the customer is told it as the new promise)
    pushed: Sequence[tuple[uuid.UUID, datetime, datetime, datetime, bool]]
    assignment: NewAssignment
    events: Sequence[OutboxRow]
    replan_day: date
    replan_reason: str


_BOOKINGS_AHEAD_SQL = f"""
    SELECT a.id, a.request_id, a.customer_id, a.technician_id, a.status, a.planned_start, a.planned_end, a.eta,
           a.locked, j.window_end, j.windows, j.response_due, j.kind, j.lat, j.lon,
           COALESCE(a.first_eta, a.eta) AS promised_eta
    FROM assignments a
    CROSS JOIN LATERAL (
        -- one index lookup per booking (a plain join makes the planner hash all of jobs)
        SELECT window_end, windows, response_due, kind, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon
        FROM jobs WHERE request_id = a.request_id LIMIT 1) j
    WHERE a.technician_id = ANY($1::uuid[]) AND a.status IN {ACTIVE_SQL}
      AND (a.planned_end > $2 OR a.status IN ('en_route', 'on_site')) AND a.planned_start < $3
    ORDER BY a.technician_id, a.planned_start"""

# one statement books an emergency: claims the route at the version the decision saw (nothing happens if it
# moved), pushes the later bookings, inserts the booking and its history, marks the job, writes every event
# to the outbox and queues the day's re-plan. The no-overlap constraint (deferrable) is checked at its end.
_BOOK_EMERGENCY_SQL = f"""
    WITH claimed AS (
        UPDATE technicians SET route_version = route_version + 1
        WHERE id = $1 AND route_version = $2 RETURNING id
    ), pushed AS (
        UPDATE assignments AS a
        SET planned_start = v.starts, planned_end = v.ends, eta = v.eta, updated_at = now(), version = a.version + 1,
            first_eta = CASE WHEN v.told THEN v.eta ELSE a.first_eta END
        FROM claimed, unnest($3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[], $21::boolean[])
             AS v(id, starts, ends, eta, told)
        WHERE a.id = v.id AND a.technician_id = claimed.id AND a.status IN {ACTIVE_SQL}
        RETURNING a.id
    ), booked AS (
        INSERT INTO assignments (id, request_id, technician_id, customer_id, status, planned_start, planned_end, eta,
                                 first_eta, booked_at)
        SELECT $7, $8, claimed.id, $9, $10, $11, $12, $13, $13, $19 FROM claimed
        RETURNING id, status, planned_start
    ), recorded AS (
        INSERT INTO assignment_history (assignment_id, status, at, detail)
        SELECT id, status, $19, jsonb_build_object('planned_start', planned_start) FROM booked
    ), assigned AS (
        UPDATE jobs SET status = 'assigned', unplaceable_reason = NULL
        WHERE request_id = $8 AND EXISTS (SELECT FROM claimed)
    ), announced AS (
        INSERT INTO outbox (event_id, subject, payload, trace_context)
        SELECT e.event_id, e.subject, e.payload::jsonb, e.trace_context::jsonb
        FROM claimed, unnest($14::uuid[], $15::text[], $16::text[], $20::text[])
             AS e(event_id, subject, payload, trace_context)
    ), queued AS (
        INSERT INTO replan_requests (day, reason) SELECT $17, $18 FROM claimed
    )
    SELECT (SELECT count(*) FROM claimed) AS claimed, (SELECT count(*) FROM pushed) AS pushed"""


class EmergencyBookingRepository(SessionRepository):
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
            _BOOK_EMERGENCY_SQL,
            booking.technician_id,
            booking.route_version,
            [p[0] for p in pushed],
            [p[1] for p in pushed],
            [p[2] for p in pushed],
            [p[3] for p in pushed],
            a.id,
            a.request_id,
            a.customer_id,
            a.status,
            a.planned_start,
            a.planned_end,
            a.eta,
            [e.event_id for e in events],
            [e.subject for e in events],
            [e.payload for e in events],
            booking.replan_day,
            booking.replan_reason,
            a.booked_at,
            [e.trace_context for e in events],
            [p[4] for p in pushed],
        )
        assert row is not None
        if not row["claimed"]:
            return False
        if row["pushed"] != len(pushed):
            raise DoubleBooking(f"{len(pushed) - row['pushed']} of the bookings to push later are no longer active")
        mark_outbox_written(self.session)
        return True

    async def bookings_ahead(
        self, technician_ids: Sequence[uuid.UUID], now: datetime, until: datetime
    ) -> list[BookingAhead]:
        """Active bookings of these technicians not finished by `now`, with what each must still keep."""
        if not technician_ids:
            return []
        return records(
            BookingAhead, await (await self._driver()).fetch(_BOOKINGS_AHEAD_SQL, list(technician_ids), now, until)
        )
