"""Bookings (assignments): booking under the database's no-overlap constraint, moving and retiming them, their
status history, and the reads of who is booked when and where. The emergency's one-statement booking and its
reads on the hot path: emergency_bookings.py."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import case, func, insert, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random

from services.dispatch.db import tables as t
from services.dispatch.db.common import ACTIVE, SessionRepository, latitude, longitude, point_wkt
from services.dispatch.domain.records import (
    AssignmentRecord,
    FinishedWork,
    NewAssignment,
    OverrunningJob,
    SitedAssignment,
    StepRecord,
)
from shared.db import record, records


class DoubleBooking(Exception):
    """The database refused a booking: the technician is busy then, or the request is already booked."""


class RequestAlreadyBooked(DoubleBooking):
    """The request has an active booking already (another day's re-plan or a placement took it meanwhile)."""


def _deadlocked(exc: BaseException) -> bool:
    """Two bookings that overlap, inserted at once, can each wait on the other's row of the exclusion constraint:
    PostgreSQL then aborts one of them with SQLSTATE 40P01 (deadlock detected)."""
    if isinstance(exc, asyncpg.DeadlockDetectedError):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "40P01"


# A booking that lost a deadlock is tried again: this time it waits for the other booking and sees it commit (a
# conflict) or roll back (the slot is free), instead of being refused for a booking that may never land.
def _retrying_deadlocks() -> AsyncRetrying:
    return AsyncRetrying(
        retry=retry_if_exception(_deadlocked), stop=stop_after_attempt(5), wait=wait_random(0, 0.02), reraise=True
    )


class BookingRepository(SessionRepository):
    async def queue_on_technician(self, technician_id: uuid.UUID) -> None:
        """Waits for the other bookings of the technician in flight (until the end of this transaction)."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"dispatch.technician:{technician_id}"},
        )

    async def book(self, assignment: NewAssignment) -> None:
        """Insert under the database's constraints; raises DoubleBooking and leaves the transaction usable.

        Bookings of one technician queue on a lock of that technician first: two overlapping rows inserted at once
        would each wait on the other's in the exclusion constraint, a deadlock PostgreSQL breaks only after a second.
        """
        await self.queue_on_technician(assignment.technician_id)
        async for attempt in _retrying_deadlocks():  # a deadlock with another kind of booking (an emergency's)
            with attempt:
                try:
                    async with self.session.begin_nested():
                        await self.session.execute(
                            insert(t.assignments).values(
                                id=assignment.id,
                                request_id=assignment.request_id,
                                technician_id=assignment.technician_id,
                                customer_id=assignment.customer_id,
                                status=assignment.status,
                                planned_start=assignment.planned_start,
                                planned_end=assignment.planned_end,
                                eta=assignment.eta,
                                first_eta=assignment.eta,
                                booked_at=assignment.booked_at,
                            )
                        )
                except IntegrityError as exc:
                    refused = getattr(exc.orig, "__cause__", None)  # asyncpg's error names the constraint
                    if getattr(refused, "constraint_name", None) == "uq_assignments_active_request":
                        raise RequestAlreadyBooked(str(exc.orig)) from exc
                    raise DoubleBooking(str(exc.orig)) from exc
        # the step happened when it was booked; where the booking puts it in the day is its detail
        await self.add_history(
            assignment.id,
            assignment.status,
            assignment.booked_at,
            detail={"planned_start": assignment.planned_start.isoformat()},
        )

    async def defer_overlap_check(self) -> None:
        """Check no-overlap at commit: a route moves as a whole within one transaction."""
        await self.session.execute(text("SET CONSTRAINTS ex_assignments_no_overlap DEFERRED"))

    async def check_overlap_now(self) -> None:
        """Runs the deferred no-overlap check at once (raises IntegrityError if broken)."""
        await self.session.execute(text("SET CONSTRAINTS ex_assignments_no_overlap IMMEDIATE"))

    async def get_assignment(self, assignment_id: uuid.UUID, *, for_update: bool = False) -> AssignmentRecord | None:
        query = select(t.assignments).where(t.assignments.c.id == assignment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return record(AssignmentRecord, row) if row else None

    async def assignments_of(
        self, technician_id: uuid.UUID, start: datetime | None = None, end: datetime | None = None
    ) -> list[AssignmentRecord]:
        a = t.assignments
        query = select(a).where(a.c.technician_id == technician_id)
        if start is not None and end is not None:
            query = query.where(a.c.planned_start < end, a.c.planned_end > start)
        return records(AssignmentRecord, await self.session.execute(query.order_by(a.c.planned_start)))

    async def assignments_between(
        self, start: datetime, end: datetime, technician_ids: Sequence[uuid.UUID] | None = None
    ) -> list[SitedAssignment]:
        """Every booking (any status) meeting [start, end), with its site (`site_lat`, `site_lon`); no row locks."""
        a, j = t.assignments, t.jobs
        query = (
            select(a, latitude(j.c.location, "site_lat"), longitude(j.c.location, "site_lon"))
            .select_from(a.outerjoin(j, j.c.request_id == a.c.request_id))
            .where(a.c.planned_start < end, a.c.planned_end > start)
            .order_by(a.c.technician_id, a.c.planned_start)
        )
        if technician_ids is not None:
            query = query.where(a.c.technician_id.in_(list(technician_ids)))
        return records(SitedAssignment, await self.session.execute(query))

    async def active_bookings_between(
        self,
        technician_id: uuid.UUID,
        start: datetime,
        end: datetime,
        exclude: uuid.UUID | None = None,
        limit: int | None = None,
    ) -> list[AssignmentRecord]:
        """The technician's active bookings meeting [start, end), by start (but `exclude`)."""
        a = t.assignments
        query = select(a).where(
            a.c.technician_id == technician_id, a.c.status.in_(ACTIVE), a.c.planned_start < end, a.c.planned_end > start
        )
        if exclude is not None:
            query = query.where(a.c.id != exclude)
        rows = await self.session.execute(query.order_by(a.c.planned_start).limit(limit))
        return records(AssignmentRecord, rows)

    async def overlapping(
        self, technician_id: uuid.UUID, start: datetime, end: datetime, exclude: uuid.UUID | None = None
    ) -> AssignmentRecord | None:
        """The first active booking that clashes with [start, end), if any."""
        clashes = await self.active_bookings_between(technician_id, start, end, exclude, limit=1)
        return clashes[0] if clashes else None

    async def set_assignment_status(
        self,
        assignment_id: uuid.UUID,
        status: str,
        at: datetime,
        position: tuple[float, float] | None,
        detail: dict[str, Any],
        outcome: str | None = None,
        report: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "updated_at": func.now(),
            "last_transition_at": at,
            "version": t.assignments.c.version + 1,
        }
        if outcome is not None:
            values["outcome"] = outcome
        if report is not None:
            values["report"] = report
        if status == "on_site":
            values["arrived_at"] = at
            values["eta"] = at  # arrived: the expected arrival is the actual one, no longer ahead
        elif status in ("completed", "failed"):
            values["finished_at"] = at
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(**values))
        await self.add_history(assignment_id, status, at, position, detail)

    async def move_assignment(
        self,
        assignment_id: uuid.UUID,
        *,
        planned_start: datetime,
        planned_end: datetime,
        eta: datetime,
        technician_id: uuid.UUID | None = None,
        status: str | None = None,
        first_eta: datetime | None = None,
    ) -> None:
        """`first_eta`: a new promise a dispatcher made (re-plans then keep to it instead of the first one)."""
        values: dict[str, Any] = {
            "planned_start": planned_start,
            "planned_end": planned_end,
            "eta": eta,
            "updated_at": func.now(),
            "version": t.assignments.c.version + 1,
        }
        if technician_id is not None:
            values["technician_id"] = technician_id
        if status is not None:
            values["status"] = status
        if first_eta is not None:
            values["first_eta"] = first_eta
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(**values))

    async def overrunning(self, now: datetime, grace: timedelta) -> list[OverrunningJob]:
        """Jobs on site past their planned end plus `grace`, not noticed within the last `grace` (locked, skipping
        any another replica holds)."""
        a, j = t.assignments, t.jobs
        rows = await self.session.execute(
            select(a.c.id, a.c.request_id, a.c.technician_id, a.c.planned_start, a.c.planned_end, j.c.address, j.c.kind)
            .join(j, j.c.request_id == a.c.request_id)
            .where(
                a.c.status == "on_site",
                a.c.planned_end < now - grace,
                or_(a.c.overran_at.is_(None), a.c.overran_at < now - grace),
            )
            .order_by(a.c.planned_end)
            .with_for_update(of=a, skip_locked=True)
        )
        return records(OverrunningJob, rows)

    async def mark_overran(self, assignment_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(t.assignments).where(t.assignments.c.id == assignment_id).values(overran_at=at)
        )

    async def set_locked(
        self, assignment_id: uuid.UUID, locked: bool, by: str | None = None, at: datetime | None = None
    ) -> None:
        """Pins (`by` whom, `at` when) or releases the booking: re-plans keep a pinned one where it is."""
        await self.session.execute(
            update(t.assignments)
            .where(t.assignments.c.id == assignment_id)
            .values(
                locked=locked,
                locked_by=by if locked else None,
                locked_at=at if locked else None,
                version=t.assignments.c.version + 1,
            )
        )

    async def set_eta(self, assignment_id: uuid.UUID, eta: datetime) -> None:
        """A new expected arrival (from the technician's position), the booking's slot unchanged."""
        await self.session.execute(
            update(t.assignments)
            .where(t.assignments.c.id == assignment_id)
            .values(eta=eta, updated_at=func.now(), version=t.assignments.c.version + 1)
        )

    async def mark_suspect(self, assignment_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(t.assignments).where(t.assignments.c.id == assignment_id).values(suspect=reason)
        )

    async def en_route_of(self, technician_id: uuid.UUID) -> list[SitedAssignment]:
        """The technician's bookings en route, with their sites."""
        a, j = t.assignments, t.jobs
        rows = await self.session.execute(
            select(a, latitude(j.c.location, "site_lat"), longitude(j.c.location, "site_lon"))
            .join(j, j.c.request_id == a.c.request_id)
            .where(a.c.technician_id == technician_id, a.c.status == "en_route")
            .with_for_update(of=a)
        )
        return records(SitedAssignment, rows)

    async def step_at(self, assignment_id: uuid.UUID, status: str) -> StepRecord | None:
        """The latest history step of `status`: when, and where (lat, lon) if the device said."""
        h = t.assignment_history
        row = (
            await self.session.execute(
                select(h.c.at, latitude(h.c.position, "lat"), longitude(h.c.position, "lon"))
                .where(h.c.assignment_id == assignment_id, h.c.status == status)
                .order_by(h.c.id.desc())
                .limit(1)
            )
        ).first()
        return record(StepRecord, row) if row else None

    async def add_history(
        self,
        assignment_id: uuid.UUID,
        status: str,
        at: datetime,
        position: tuple[float, float] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self.session.execute(
            insert(t.assignment_history).values(
                assignment_id=assignment_id,
                status=status,
                at=at,
                position=point_wkt(*position) if position else None,
                detail=detail or {},
            )
        )

    async def active_assignments_for_request(self, request_id: uuid.UUID) -> list[AssignmentRecord]:
        rows = await self.session.execute(
            select(t.assignments)
            .where(t.assignments.c.request_id == request_id, t.assignments.c.status.in_(ACTIVE))
            .with_for_update()
        )
        return records(AssignmentRecord, rows)

    async def latest_visit_of_request(self, request_id: uuid.UUID) -> AssignmentRecord | None:
        """The request's active booking, else its last finished one (declined and cancelled ones aside); a read."""
        a = t.assignments
        rank = case((a.c.status.in_(ACTIVE), 0), else_=1)
        query = (
            select(a)
            .where(a.c.request_id == request_id, a.c.status.not_in(("declined", "cancelled")))
            .order_by(rank, a.c.last_transition_at.desc().nulls_last(), a.c.created_at.desc())
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return record(AssignmentRecord, row) if row else None

    async def active_assignments_of_requests(
        self, request_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, AssignmentRecord]:
        """The active booking of each of these requests (at most one each); a read: no row locks."""
        if not request_ids:
            return {}
        a = t.assignments
        rows = await self.session.execute(
            select(a).where(a.c.request_id.in_(list(request_ids)), a.c.status.in_(ACTIVE))
        )
        return {r.request_id: record(AssignmentRecord, r) for r in rows}

    async def active_assignments_between(
        self, start: datetime, end: datetime, *, for_update: bool = False
    ) -> list[AssignmentRecord]:
        a = t.assignments
        query = (
            select(a)
            .where(a.c.status.in_(ACTIVE), a.c.planned_start >= start, a.c.planned_start < end)
            .order_by(a.c.technician_id, a.c.planned_start)
        )
        if for_update:
            query = query.with_for_update()
        return records(AssignmentRecord, await self.session.execute(query))

    async def site_history(
        self, site_ids: Sequence[uuid.UUID], before: datetime, limit: int = 5
    ) -> dict[uuid.UUID, list[FinishedWork]]:
        """Finished work at these sites: what dispatch itself saw done there."""
        a, j = t.assignments, t.jobs
        if not site_ids:
            return {}
        rows = await self.session.execute(
            select(
                j.c.site_id,
                a.c.request_id,
                j.c.kind,
                a.c.status,
                a.c.outcome,
                a.c.report,
                a.c.last_transition_at.label("finished_at"),
            )
            .join(j, j.c.request_id == a.c.request_id)
            .where(
                j.c.site_id.in_(list(site_ids)),
                a.c.status.in_(("completed", "failed")),
                a.c.last_transition_at < before,
            )
            .order_by(a.c.last_transition_at.desc())
        )
        found: dict[uuid.UUID, list[FinishedWork]] = {}
        for r in rows:
            if len(found.setdefault(r.site_id, [])) < limit:
                found[r.site_id].append(record(FinishedWork, r))
        return found

    async def declined_by(self, request_id: uuid.UUID) -> list[uuid.UUID]:
        a = t.assignments
        rows = await self.session.execute(
            select(a.c.technician_id).where(a.c.request_id == request_id, a.c.status == "declined")
        )
        return [r.technician_id for r in rows]
