"""What the contracts service listens to: requests (for SLA and quota use) and dispatch (for visits and history).

Every handler runs inside the consumer's transaction next to its processed-messages row, and each
write is itself idempotent (insert-or-ignore by natural key), so redeliveries and replays change nothing.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repository import ContractsRepository
from services.contracts.entitlement import count_filed_request
from services.contracts.visits import record_visit_progress
from shared.clock import Clock
from shared.events.dispatch import AssignmentCreated, AssignmentStatusChanged
from shared.events.envelope import Envelope, Event
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import Subscription
from shared.service import Runtime


async def on_request_created(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, ServiceRequestCreated)
    await ContractsRepository(session).record_service_job({
        "request_id": event.request_id, "contract_id": event.contract_id if event.covered else None,
        "customer_id": event.customer_id, "site_id": event.site_id, "equipment_id": event.equipment_id,
        "kind": event.kind, "priority": event.priority, "response_due": event.response_due,
        "fix_due": event.fix_due, "created_at": event.created_at, "follow_up_of": event.follow_up_of,
    })
    if event.covered and event.contract_id is not None and event.follow_up_of is None:
        await count_filed_request(session, event.request_id, event.contract_id, event.kind, event.created_at,
                                  within_quota=not event.quota_exceeded)


async def on_request_cancelled(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, ServiceRequestCancelled)
    repo = ContractsRepository(session)
    await repo.cancel_service_job(event.request_id, envelope.occurred_at)
    await repo.release_quota(event.request_id, envelope.occurred_at)


async def on_assignment_created(clock: Clock, session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentCreated)
    await ContractsRepository(session).record_assignment_step({
        "assignment_id": event.assignment_id, "status": event.status, "at": envelope.occurred_at,
        "request_id": event.request_id, "technician_id": event.technician_id, "outcome": None,
    })
    await record_visit_progress(session, event.request_id, event.status, None, clock.now())


async def on_assignment_status_changed(clock: Clock, session: AsyncSession, envelope: Envelope,
                                       event: Event) -> None:
    assert isinstance(event, AssignmentStatusChanged)
    await ContractsRepository(session).record_assignment_step({
        "assignment_id": event.assignment_id, "status": event.status, "at": event.at,
        "request_id": event.request_id, "technician_id": event.technician_id, "outcome": event.outcome,
    })
    await record_visit_progress(session, event.request_id, event.status, event.outcome, clock.now())


def subscriptions(runtime: Runtime) -> list[Subscription]:
    clock = runtime.clock  # what a handler writes to the outbox happens at the service's "now"
    return [
        Subscription("contracts-service-jobs", "requests", ServiceRequestCreated.subject, on_request_created),
        Subscription("contracts-cancellations", "requests", ServiceRequestCancelled.subject, on_request_cancelled),
        Subscription("contracts-assignments", "dispatch", AssignmentCreated.subject,
                     partial(on_assignment_created, clock)),
        Subscription("contracts-assignment-steps", "dispatch", AssignmentStatusChanged.subject,
                     partial(on_assignment_status_changed, clock)),
    ]
