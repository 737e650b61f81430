"""Mirrors dispatch's assignment events onto the customer's request; safe for duplicates and disorder.

Each handler is the use case of one dispatch event (consumers.py subscribes it) and runs in the consumer's
session, committed when it returns. Every handler locks the request row first, so the events of one request
are applied one at a time whichever consumer receives them; each folds its event into the assignment it
concerns and then re-derives the request's status and tracking fields from all of them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.requests import RequestsRepository
from services.requests.db.timeline import TimelineRepository
from services.requests.domain.lifecycle import (
    AssignmentView,
    assignment_booked,
    assignment_moved,
    assignment_rebooked,
    current_assignment,
    needs_parts,
    request_status,
)
from services.requests.domain.planned_visits import PLANNED
from services.requests.domain.records import ServiceRequestRecord
from services.requests.usecases.filing import open_follow_up
from services.requests.usecases.survey_links import SurveyLinks
from services.requests.usecases.surveys import invite_to_survey
from shared.clock import Clock
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.envelope import Envelope, Event
from shared.timestamps import utc_z, utc_z_or_none

log = logging.getLogger(__name__)


class Tracking:
    def __init__(self, links: SurveyLinks, survey_ttl_days: int, clock: Clock) -> None:
        self.links = links
        self.clock = clock
        self.survey_ttl_days = survey_ttl_days

    async def on_assignment_created(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, AssignmentCreated)
        timeline = TimelineRepository(session)
        applied = await _apply(
            session,
            event.request_id,
            event.assignment_id,
            lambda before: assignment_booked(
                before,
                assignment_id=event.assignment_id,
                technician_id=event.technician_id,
                technician_first_name=event.technician_first_name,
                status=event.status,
                booked_at=envelope.occurred_at,
                eta=event.eta,
            ),
        )
        if applied is None:
            return
        await timeline.add(
            event.request_id,
            "assigned",
            envelope.occurred_at,
            envelope.event_id,
            {
                "assignment_id": str(event.assignment_id),
                "technician_first_name": event.technician_first_name,
                "eta": utc_z(event.eta),
            },
        )
        await self._refresh(session, applied.request, applied.assignments, envelope)

    async def on_assignment_status_changed(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, AssignmentStatusChanged)
        applied = await _apply(
            session,
            event.request_id,
            event.assignment_id,
            lambda before: assignment_moved(
                before,
                assignment_id=event.assignment_id,
                technician_id=event.technician_id,
                status=event.status,
                at=event.at,
                eta=event.eta,
                outcome=event.outcome,
            ),
        )
        if applied is None:
            return
        request = applied.request
        timeline = TimelineRepository(session)
        detail: dict[str, Any] = {"assignment_id": str(event.assignment_id)}
        if event.outcome:
            detail["outcome"] = event.outcome
        if event.reason:
            detail["reason"] = event.reason
        entry = "assignment_cancelled" if event.status == "cancelled" else event.status
        await timeline.add(event.request_id, entry, event.at, envelope.event_id, detail)
        previous_eta = applied.before.eta if applied.before else None
        if event.eta is not None and event.eta != previous_eta:
            await timeline.add(
                event.request_id,
                "eta_changed",
                event.at,
                envelope.event_id,
                {"eta": utc_z(event.eta), "previous_eta": utc_z_or_none(previous_eta)},
            )
        follow_up_opened: bool | None = None  # unknown here: _refresh looks it up
        if (
            event.status == "failed"
            and needs_parts(event.outcome)
            and request.kind != PLANNED  # a planned visit's unfinished work carries over in its contract
            and request.cancelled_at is None
            and current_assignment(applied.assignments) == applied.view
        ):
            follow_up_id = await open_follow_up(session, request, event.outcome or "", event.at, envelope.event_id)
            await timeline.add(
                event.request_id,
                "follow_up_opened",
                event.at,
                envelope.event_id,
                {"follow_up_request_id": str(follow_up_id)},
            )
            follow_up_opened = True  # open_follow_up just found or made it: no need to look it up again
        await self._refresh(session, request, applied.assignments, envelope, follow_up_opened=follow_up_opened)

    async def on_assignment_changed(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        """A re-plan or a dispatcher moved the booking: the customer sees the new technician and ETA."""
        assert isinstance(event, AssignmentChanged)
        timeline = TimelineRepository(session)
        at = envelope.occurred_at
        applied = await _apply(
            session,
            event.request_id,
            event.assignment_id,
            lambda before: assignment_rebooked(
                before,
                assignment_id=event.assignment_id,
                technician_id=event.technician_id,
                technician_first_name=event.technician_first_name,
                status=event.status,
                eta=event.eta,
                at=at,
            ),
        )
        if applied is None:
            return
        if event.technician_id != event.previous_technician_id:
            await timeline.add(
                event.request_id,
                "reassigned",
                at,
                envelope.event_id,
                {
                    "assignment_id": str(event.assignment_id),
                    "technician_first_name": event.technician_first_name,
                    "reason": event.reason,
                },
            )
        if event.eta != event.previous_eta:
            await timeline.add(
                event.request_id,
                "eta_changed",
                at,
                envelope.event_id,
                {"eta": utc_z(event.eta), "previous_eta": utc_z(event.previous_eta), "reason": event.reason},
            )
        await self._refresh(session, applied.request, applied.assignments, envelope)

    async def on_unplaceable(self, session: AsyncSession, envelope: Envelope, event: Event) -> None:
        assert isinstance(event, RequestUnplaceable)
        timeline = TimelineRepository(session)
        loaded = await _load(session, event.request_id)
        if loaded is None:
            return
        repo, request, assignments = loaded
        await repo.update(event.request_id, unplaceable_reason=event.reason, updated_at=self.clock.now())
        request = replace(request, unplaceable_reason=event.reason)
        await timeline.add(
            event.request_id, "unplaceable", envelope.occurred_at, envelope.event_id, {"reason": event.reason}
        )
        await self._refresh(session, request, assignments, envelope)

    async def _refresh(
        self,
        session: AsyncSession,
        request: ServiceRequestRecord,
        assignments: list[AssignmentView],
        envelope: Envelope,
        *,
        follow_up_opened: bool | None = None,
    ) -> None:
        """Re-derive the request's status and tracking fields; invite to the survey on completion.

        `follow_up_opened` is looked up unless the caller already knows it.
        """
        repo = RequestsRepository(session)
        if follow_up_opened is None:
            follow_up_opened = await repo.follow_up_of(request.id) is not None
        status = request_status(
            cancelled=request.cancelled_at is not None,
            follow_up_opened=follow_up_opened,
            unplaceable=request.unplaceable_reason is not None,
            assignments=assignments,
        )
        current = current_assignment(assignments)
        await repo.update(
            request.id,
            status=status,
            assignment_id=current.assignment_id if current else None,
            technician_id=current.technician_id if current else None,
            technician_first_name=current.technician_first_name if current else None,
            eta=current.eta if current else None,
            updated_at=self.clock.now(),
        )
        completed_at = current.reached_at("completed") if current else None
        if status == "completed" and current is not None and completed_at is not None:
            await invite_to_survey(
                session,
                self.links,
                replace(request, status=status),
                current,
                completed_at,
                ttl_days=self.survey_ttl_days,
                source_event_id=envelope.event_id,
                now=self.clock.now(),
            )


async def _load(
    session: AsyncSession, request_id: uuid.UUID
) -> tuple[RequestsRepository, ServiceRequestRecord, list[AssignmentView]] | None:
    """The request (locked: its events apply one at a time) and its assignments; None when it is not ours.

    Dispatch learns request ids from our committed events and planned visits' from contracts, so an unknown id is
    a planned visit this service never recorded (planned before it read the schedule), never a request of ours
    that is not there yet.
    """
    repo = RequestsRepository(session)
    request = await repo.get(request_id, for_update=True)
    if request is None:
        log.debug("ignoring dispatch event for %s: not a service request", request_id)
        return None
    return repo, request, await repo.assignments(request_id)


@dataclass(frozen=True)
class _Applied:
    repo: RequestsRepository
    request: ServiceRequestRecord
    assignments: list[AssignmentView]  # with `view` in place of `before`
    before: AssignmentView | None
    view: AssignmentView


async def _apply(
    session: AsyncSession,
    request_id: uuid.UUID,
    assignment_id: uuid.UUID,
    fold: Callable[[AssignmentView | None], AssignmentView],
) -> _Applied | None:
    """Fold one event into its assignment and store it; None when the request is not ours or nothing changed."""
    loaded = await _load(session, request_id)
    if loaded is None:
        return None
    repo, request, assignments = loaded
    before = _find(assignments, assignment_id)
    view = fold(before)
    if view == before:
        return None  # the same fact re-sent under another event id
    await repo.save_assignment(request_id, view)
    return _Applied(repo, request, _replace(assignments, view), before, view)


def _find(assignments: list[AssignmentView], assignment_id: uuid.UUID) -> AssignmentView | None:
    return next((a for a in assignments if a.assignment_id == assignment_id), None)


def _replace(assignments: list[AssignmentView], view: AssignmentView) -> list[AssignmentView]:
    return [a for a in assignments if a.assignment_id != view.assignment_id] + [view]
