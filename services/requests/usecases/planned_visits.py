"""Contracts' planned visits become the customer's requests of kind "planned" (domain/planned_visits.py), so a
visit is tracked, rated and counted in the KPIs like a request the customer filed.

Nothing goes out: dispatch routes the visit from contracts' own event, and books it under the visit's id, which
is this request's id; a cancellation or a new window comes from the contract's schedule, never from here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.requests import RequestsRepository
from services.requests.db.timeline import TimelineRepository
from services.requests.domain.planned_visits import planned_request, window_of
from shared.clock import Clock
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.events.envelope import Envelope, Event


class PlannedVisits:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def on_visit_event(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        """A visit planned, rescheduled or cancelled (other visit events are not this use case's)."""
        if isinstance(event, VisitRescheduled):
            await self._reschedule(session, envelope, event)
        elif isinstance(event, VisitPlanned):
            await self._record(session, envelope, event)
        elif isinstance(event, VisitCancelled):
            await self._cancel(session, envelope, event)

    async def _reschedule(self, session: AsyncSession, envelope: Envelope, event: VisitRescheduled) -> None:
        """The visit's new window (a visit planned before this service read the schedule is recorded now)."""
        repo = RequestsRepository(session)
        if await repo.get(event.visit_id, for_update=True) is None:
            await self._record(session, envelope, event)
            return
        await repo.update(
            event.visit_id, preferred_windows=[window_of(event)], priority=event.priority, updated_at=self.clock.now()
        )

    async def _cancel(self, session: AsyncSession, envelope: Envelope, event: VisitCancelled) -> None:
        repo = RequestsRepository(session)
        request = await repo.get(event.visit_id, for_update=True)
        if request is None or request.cancelled_at is not None:
            return
        at = envelope.occurred_at
        await repo.update(
            event.visit_id,
            status="cancelled",
            cancelled_at=at,
            cancelled_by="contracts",
            cancel_reason=event.reason,
            updated_at=self.clock.now(),
        )
        await TimelineRepository(session).add(
            event.visit_id, "cancelled", at, envelope.event_id, {"by": "contracts", "reason": event.reason}
        )

    async def _record(self, session: AsyncSession, envelope: Envelope, visit: VisitPlanned) -> None:
        request = planned_request(visit, envelope.occurred_at, self.clock.now())
        if await RequestsRepository(session).insert_if_new(request):
            detail = {"planned_by_contract": str(visit.contract_id)}
            await TimelineRepository(session).add(request.id, "new", request.created_at, envelope.event_id, detail)
