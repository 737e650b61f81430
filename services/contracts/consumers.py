"""Everything the contracts service takes from NATS: the events of requests (SLA and quota use) and dispatch
(visit progress and service history), and the entitlement questions the requests service asks (request/reply).

Every event handler runs inside the consumer's transaction next to its processed-messages row, and each
write is itself idempotent (insert-or-ignore by natural key), so redeliveries and replays change nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.usecases.entitlement import check_entitlement
from services.contracts.usecases.history import (
    assignment_reassigned,
    assignment_stepped,
    request_cancelled,
    request_filed,
)
from shared.clock import Clock
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged
from shared.events.envelope import Envelope, Event
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import Subscription, rpc
from shared.service import Runtime


async def on_request_created(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, ServiceRequestCreated)
    await request_filed(session, event)


async def on_request_cancelled(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, ServiceRequestCancelled)
    await request_cancelled(session, event.request_id, envelope.occurred_at)


async def on_assignment_created(clock: Clock, session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentCreated)
    await assignment_stepped(session, event, envelope.occurred_at, clock.now())


async def on_assignment_status_changed(clock: Clock, session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentStatusChanged)
    await assignment_stepped(session, event, event.at, clock.now())


async def on_assignment_changed(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentChanged)
    await assignment_reassigned(session, event, envelope.occurred_at)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    clock = runtime.clock  # what a handler writes to the outbox happens at the service's "now"
    return [
        Subscription("contracts-service-jobs", "requests", ServiceRequestCreated.subject, on_request_created),
        Subscription("contracts-cancellations", "requests", ServiceRequestCancelled.subject, on_request_cancelled),
        Subscription(
            "contracts-assignments", "dispatch", AssignmentCreated.subject, partial(on_assignment_created, clock)
        ),
        Subscription(
            "contracts-assignment-steps",
            "dispatch",
            AssignmentStatusChanged.subject,
            partial(on_assignment_status_changed, clock),
        ),
        Subscription("contracts-assignment-changes", "dispatch", AssignmentChanged.subject, on_assignment_changed),
    ]


@asynccontextmanager
async def entitlement_server(runtime: Runtime) -> AsyncIterator[None]:
    """Answer `CHECK_ENTITLEMENT` requests (queue group `contracts-entitlement`), one transaction per question."""

    async def _answer(query: EntitlementQuery) -> EntitlementAnswer:
        async with runtime.db.transaction() as session:
            return await check_entitlement(session, query)

    subscription = await rpc.serve(
        runtime.nc, CHECK_ENTITLEMENT, "contracts-entitlement", EntitlementQuery, _answer, tracer=runtime.tracer
    )
    try:
        yield
    finally:
        await subscription.unsubscribe()
