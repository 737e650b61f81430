"""What other services tell contracts: requests filed and cancelled (SLA and quota use), assignment steps
(visit progress and each unit's service history). Each write is idempotent by natural key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.contract import AssignmentStep, ServiceJob
from services.contracts.usecases.entitlement import count_filed_request
from services.contracts.usecases.visits import record_visit_progress
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged
from shared.events.requests import ServiceRequestCreated


async def request_filed(session: AsyncSession, event: ServiceRequestCreated) -> None:
    """Remember the request for SLA compliance; a covered first request counts against its contract's quota."""
    await Repositories(session).service_jobs.record_service_job(
        ServiceJob(
            request_id=event.request_id,
            contract_id=event.contract_id if event.covered else None,
            customer_id=event.customer_id,
            site_id=event.site_id,
            equipment_id=event.equipment_id,
            kind=event.kind,
            priority=event.priority,
            response_due=event.response_due,
            fix_due=event.fix_due,
            created_at=event.created_at,
            follow_up_of=event.follow_up_of,
        )
    )
    if event.covered and event.contract_id is not None and event.follow_up_of is None:
        await count_filed_request(
            session,
            event.request_id,
            event.contract_id,
            event.kind,
            event.created_at,
            within_quota=not event.quota_exceeded,
        )


async def request_cancelled(session: AsyncSession, request_id: uuid.UUID, at: datetime) -> None:
    """The request no longer counts for SLA compliance, and its quota unit is released."""
    repo = Repositories(session)
    await repo.service_jobs.cancel_service_job(request_id, at)
    await repo.quota.release_quota(request_id, at)


async def assignment_stepped(
    session: AsyncSession, event: AssignmentCreated | AssignmentStatusChanged, at: datetime, now: datetime
) -> None:
    """Record the step in the unit's history; a planned visit booked under this request id follows it."""
    outcome = event.outcome if isinstance(event, AssignmentStatusChanged) else None
    await Repositories(session).service_jobs.record_assignment_step(
        AssignmentStep(
            assignment_id=event.assignment_id,
            status=event.status,
            at=at,
            request_id=event.request_id,
            technician_id=event.technician_id,
            outcome=outcome,
        )
    )
    await record_visit_progress(session, event.request_id, event.status, outcome, now)


async def assignment_reassigned(session: AsyncSession, event: AssignmentChanged, at: datetime) -> None:
    """A booking moved to another technician: the unit's history names who goes now (a retime alone is no step)."""
    if event.technician_id == event.previous_technician_id:
        return
    await Repositories(session).service_jobs.record_assignment_step(
        AssignmentStep(
            assignment_id=event.assignment_id,
            status="reassigned",
            at=at,
            request_id=event.request_id,
            technician_id=event.technician_id,
            outcome=None,
        )
    )
