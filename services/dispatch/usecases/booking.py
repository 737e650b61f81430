"""Writing bookings and telling everyone: shared by emergency placement, manual assignment and re-plans."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.db.tables import messaging
from services.dispatch.domain.breaks import BreakWindow, break_left, shift_break
from services.dispatch.domain.lifecycle import STARTED, event_status
from services.dispatch.domain.placement import BookedStop, Candidate
from services.dispatch.domain.records import AssignmentRecord, BookingAhead, JobRecord, ReachableTechnician
from services.dispatch.domain.territories import TerritoryPolicy, crossing_cost_s
from services.dispatch.domain.windows import job_windows, window_at
from shared.events.common import GeoPoint
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, TechnicianMoved
from shared.events.envelope import Event
from shared.messaging import add_event


def latest_start(booking: BookingAhead, promise_tolerance: timedelta | None = None) -> datetime | None:
    """What a booking must still keep when others are squeezed in before it: the end of the window it starts in
    (pushed past it, it would land between two of its windows), its SLA, its pinned time; with
    `promise_tolerance`, the arrival its customer was told plus that."""
    window = window_at(job_windows(booking.windows, None, None), booking.planned_start)
    bounds = [b for b in (window.end if window else booking.window_end, booking.response_due) if b is not None]
    if booking.locked:
        bounds.append(booking.planned_start)
    if promise_tolerance is not None and booking.promised_eta is not None:
        bounds.append(max(booking.planned_start, booking.promised_eta + promise_tolerance))
    return min(bounds) if bounds else None


def _break_due(row: ReachableTechnician, logged_end: datetime | None, now: datetime) -> BreakWindow | None:
    """The shift's break still to take (the desk's rule, domain/breaks.break_left)."""
    window = shift_break(row.break_minutes, row.break_earliest, row.break_latest)
    return break_left(window, row.shift_start, (row.break_ends_at, logged_end), now)


def to_candidates(
    rows: Sequence[ReachableTechnician],
    bookings: Sequence[BookingAhead],
    now: datetime,
    skip_requests: frozenset[uuid.UUID] = frozenset(),
    breaks_taken: Mapping[uuid.UUID, datetime] | None = None,
    policy: TerritoryPolicy | None = None,
    site_territory: uuid.UUID | None = None,
    promise_tolerance: timedelta | None = None,
) -> list[Candidate]:
    """`breaks_taken`: per technician, the end of the latest break in the command log this shift. `policy`: the
    crossing rule for a job at a site in `site_territory` (a crossing it forbids leaves the technician out).
    `promise_tolerance`: the bookings ahead keep their told arrivals within it (see `latest_start`)."""
    logged = breaks_taken or {}
    policy = policy or TerritoryPolicy()
    crossing = {r.id: crossing_cost_s(policy, site_territory, r.territory_ids) for r in rows}
    by_technician: dict[uuid.UUID, list[BookedStop]] = {}
    for b in bookings:
        if b.request_id in skip_requests:
            continue
        by_technician.setdefault(b.technician_id, []).append(
            BookedStop(
                assignment_id=b.id,
                request_id=b.request_id,
                status=b.status,
                lat=b.lat,
                lon=b.lon,
                planned_start=b.planned_start,
                planned_end=b.planned_end,
                eta=b.eta,
                latest_start=latest_start(b, promise_tolerance),
                customer_id=b.customer_id,
                promised_eta=b.promised_eta,
            )
        )
    return [
        Candidate(
            technician_id=r.id,
            first_name=r.first_name,
            skills=r.skills,
            lat=r.lat,
            lon=r.lon,
            home_lat=r.home_lat,
            home_lon=r.home_lon,
            distance_m=float(r.distance_m),
            route_version=r.route_version,
            hard_end=r.shift_end + timedelta(minutes=r.overtime_minutes),
            stops=tuple(by_technician.get(r.id, ())),
            break_ends_at=r.break_ends_at,
            shift_start=r.shift_start,
            break_due=_break_due(r, logged.get(r.id), now),
            crossing_cost_s=cost,
        )
        for r in rows
        if (cost := crossing[r.id]) is not None
    ]


def assignment_created(
    assignment_id: uuid.UUID,
    job: JobRecord,
    technician_id: uuid.UUID,
    first_name: str,
    status: str,
    planned_start: datetime,
    planned_end: datetime,
    eta: datetime,
    *,
    bundled_with: uuid.UUID | None = None,
    plan_version: int | None = None,
) -> AssignmentCreated:
    return AssignmentCreated(
        assignment_id=assignment_id,
        request_id=job.request_id,
        customer_id=job.customer_id,
        technician_id=technician_id,
        technician_first_name=first_name,
        status=status,
        planned_start=planned_start,
        planned_end=planned_end,
        eta=eta,
        site_location=GeoPoint(lat=job.lat, lon=job.lon),
        kind=job.kind,
        bundled_with=bundled_with,
        plan_version=plan_version,
    )


class Booked(Protocol):
    """What an assignment.changed says of the booking as it was."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def request_id(self) -> uuid.UUID: ...
    @property
    def customer_id(self) -> uuid.UUID: ...
    @property
    def technician_id(self) -> uuid.UUID: ...
    @property
    def eta(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class BookedBefore:
    id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID
    eta: datetime


def assignment_changed(
    before: Booked,
    technician_id: uuid.UUID,
    first_name: str,
    status: str,
    planned_start: datetime,
    planned_end: datetime,
    eta: datetime,
    reason: str,
    plan_version: int | None = None,
    customer_told: bool | None = None,
) -> AssignmentChanged:
    return AssignmentChanged(
        assignment_id=before.id,
        request_id=before.request_id,
        customer_id=before.customer_id,
        technician_id=technician_id,
        technician_first_name=first_name,
        previous_technician_id=before.technician_id,
        status=status,
        planned_start=planned_start,
        planned_end=planned_end,
        eta=eta,
        previous_eta=before.eta,
        reason=reason,
        plan_version=plan_version,
        customer_told=customer_told,
    )


async def announce(session: AsyncSession, event: Event, *, occurred_at: datetime) -> None:
    """Puts a booking's event (``assignment_created``, ``assignment_changed``, a status step, a move) in the dispatch
    outbox, in the caller's transaction."""
    await add_event(session, messaging, event, occurred_at=occurred_at)


async def announce_status(
    session: AsyncSession,
    row: AssignmentRecord,
    status: str,
    at: datetime,
    *,
    position: GeoPoint | None = None,
    outcome: str | None = None,
    reason: str | None = None,
    suspect: str | None = None,
    occurred_at: datetime,
) -> None:
    """``at`` is when the step happened (as the technician reports it); ``occurred_at`` the server's now."""
    await announce(
        session,
        AssignmentStatusChanged(
            assignment_id=row.id,
            request_id=row.request_id,
            customer_id=row.customer_id,
            technician_id=row.technician_id,
            status=event_status(status),
            previous_status=event_status(row.status),
            at=at,
            position=position,
            outcome=outcome,
            eta=row.eta,
            reason=reason,
            suspect=suspect,
        ),
        occurred_at=occurred_at,
    )


async def announce_moved(
    session: AsyncSession,
    technician_id: uuid.UUID,
    at: datetime,
    lat: float,
    lon: float,
    accuracy_m: int | None,
    *,
    occurred_at: datetime,
) -> None:
    """The technician's new live position, for the dispatchers' map (``at``: the device's time of the fix)."""
    await announce(
        session,
        TechnicianMoved(technician_id=technician_id, position=GeoPoint(lat=lat, lon=lon), at=at, accuracy_m=accuracy_m),
        occurred_at=occurred_at,
    )


async def cancel_assignment(session: AsyncSession, row: AssignmentRecord, at: datetime, reason: str) -> None:
    """Calls the booking off (any active step: the lifecycle allows it); a technician who was on the way or on site is
    free again."""
    repo = DispatchRepository(session)
    await repo.set_assignment_status(row.id, "cancelled", at, None, {"reason": reason})
    if row.status in STARTED:
        await repo.set_technician_status(row.technician_id, "available")
    await repo.bump_route_version(row.technician_id)
    await announce_status(session, row, "cancelled", at, reason=reason, occurred_at=at)
