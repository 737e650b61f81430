"""Mirrors dispatch's assignment events onto the customer's request; safe for duplicates and disorder."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.repository import RequestsRepository
from services.requests.domain.lifecycle import FROM_ASSIGNMENT, advance
from shared.errors import PermanentMessageError
from shared.events.dispatch import AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.envelope import Envelope, Event
from shared.messaging import Subscription


async def on_assignment_created(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentCreated)
    repo = RequestsRepository(session)
    request = await repo.get(event.request_id, for_update=True)
    if request is None:
        raise PermanentMessageError(f"unknown request {event.request_id}")
    status = advance(request["status"], FROM_ASSIGNMENT[event.status])
    await repo.update(event.request_id, status=status, assignment_id=event.assignment_id,
                      technician_id=event.technician_id, technician_first_name=event.technician_first_name,
                      eta=event.eta)
    await repo.add_timeline(event.request_id, "assigned", envelope.occurred_at, envelope.event_id,
                            {"technician_first_name": event.technician_first_name, "eta": event.eta.isoformat()})


async def on_assignment_status_changed(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, AssignmentStatusChanged)
    if event.status not in FROM_ASSIGNMENT:
        return  # a cancelled assignment leaves the request open for re-dispatch
    repo = RequestsRepository(session)
    request = await repo.get(event.request_id, for_update=True)
    if request is None:
        raise PermanentMessageError(f"unknown request {event.request_id}")
    status = advance(request["status"], FROM_ASSIGNMENT[event.status])
    changes = {"status": status}
    if event.eta is not None:
        changes["eta"] = event.eta  # type: ignore[assignment]
    await repo.update(event.request_id, **changes)
    await repo.add_timeline(event.request_id, FROM_ASSIGNMENT[event.status], event.at, envelope.event_id,
                            {"outcome": event.outcome} if event.outcome else None)


async def on_unplaceable(session: AsyncSession, envelope: Envelope, event: Event) -> None:
    assert isinstance(event, RequestUnplaceable)
    await RequestsRepository(session).add_timeline(
        event.request_id, "unplaceable", envelope.occurred_at, envelope.event_id, {"reason": event.reason})


def subscriptions() -> list[Subscription]:
    return [
        Subscription("requests-assignment-created", "dispatch", AssignmentCreated.subject, on_assignment_created),
        Subscription("requests-assignment-status", "dispatch", AssignmentStatusChanged.subject,
                     on_assignment_status_changed),
        Subscription("requests-unplaceable", "dispatch", RequestUnplaceable.subject, on_unplaceable),
    ]
