"""What the dispatch API reads: technicians, assignments, plans, alerts and a technician's day.

Read-only use cases: each takes the caller's unit of work (the request's transaction) and returns records;
the routers shape them into responses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.calendar import local_midnight
from services.dispatch.domain.customer_view import CustomerVisit, customer_visit
from services.dispatch.domain.records import (
    AlertRecord,
    AssignmentRecord,
    FinishedWork,
    JobRecord,
    PlanFailureRecord,
    PlanRecord,
    TechnicianRecord,
)
from shared.auth import Principal, ensure_customer_access
from shared.errors import NotFound


@dataclass(frozen=True)
class TechnicianDay:
    """A technician's day as the mobile app shows it: the bookings, their jobs and what was done on site before."""

    day: date
    technician: TechnicianRecord
    assignments: list[AssignmentRecord]
    jobs: dict[uuid.UUID, JobRecord]
    site_history: dict[uuid.UUID, list[FinishedWork]]
    plan_version: int | None


class DispatchViews:
    def __init__(self, timezone: str, clock: Callable[[], datetime]) -> None:
        self.tz = ZoneInfo(timezone)
        self.clock = clock

    async def technician(self, session: AsyncSession, technician_id: uuid.UUID) -> TechnicianRecord:
        row = await DispatchRepository(session).get_technician(technician_id)
        if row is None:
            raise NotFound("technician not found")
        return row

    async def technicians(self, session: AsyncSession) -> list[TechnicianRecord]:
        return await DispatchRepository(session).list_technicians()

    async def assignment(self, session: AsyncSession, assignment_id: uuid.UUID) -> AssignmentRecord:
        row = await DispatchRepository(session).get_assignment(assignment_id)
        if row is None:
            raise NotFound("assignment not found")
        return row

    async def alerts(self, session: AsyncSession) -> list[AlertRecord]:
        return await DispatchRepository(session).alerts()

    async def plan_failures(self, session: AsyncSession) -> list[PlanFailureRecord]:
        return await DispatchRepository(session).plan_failures()

    async def latest_plan(self, session: AsyncSession, day: date) -> PlanRecord:
        plan = await DispatchRepository(session).latest_plan(day)
        if plan is None:
            raise NotFound(f"no plan for {day.isoformat()} yet")
        return plan

    async def technician_day(self, session: AsyncSession, me: uuid.UUID, day: date | None) -> TechnicianDay:
        """`day`: a local day in the company's time zone (today by the service's clock when None)."""
        repo = DispatchRepository(session)
        technician = await self.technician(session, me)
        day = day or self.clock().astimezone(self.tz).date()
        start, end = local_midnight(day, self.tz), local_midnight(day + timedelta(days=1), self.tz)
        rows = [a for a in await repo.assignments_of(me, start, end) if a.status != "declined"]
        jobs = await repo.jobs([a.request_id for a in rows])
        history = await repo.site_history(sorted({j.site_id for j in jobs.values()}), start)
        plan = await repo.latest_plan(day)
        return TechnicianDay(day, technician, rows, jobs, history, plan.version if plan else None)

    async def visit_for_customer(
        self, session: AsyncSession, principal: Principal, request_id: uuid.UUID
    ) -> CustomerVisit:
        """The visit to a customer's request as the customer may see it (NotFound for anyone else's)."""
        repo = DispatchRepository(session)
        job, assignment, technician = await visit_of_customers_request(repo, principal, request_id)
        return customer_visit(request_id, job, assignment, technician)


async def visit_of_customers_request(
    repo: DispatchRepository, principal: Principal, request_id: uuid.UUID
) -> tuple[JobRecord, AssignmentRecord | None, TechnicianRecord | None]:
    """The job of a request the principal may see as its customer (NotFound otherwise), its latest visit and that
    visit's technician (None, None before any booking)."""
    job = await repo.get_job(request_id)
    if job is None:
        raise NotFound("request not found")
    ensure_customer_access(principal, job.customer_id, "request")
    assignment = await repo.latest_visit_of_request(request_id)
    technician = await repo.get_technician(assignment.technician_id) if assignment else None
    return job, assignment, technician
