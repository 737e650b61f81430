"""Reconciling planned visits with what the schedules call for now: plan, reinstate, move or cancel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from services.contracts.domain.schedule import VisitSpec, VisitWindow

# visits not yet started may still be moved or cancelled; the rest are history
MUTABLE_STATUSES = frozenset({"planned", "assigned"})
# visits not yet finished: overdue once their window has closed
OPEN_STATUSES = ("planned", "assigned", "in_progress")
VISIT_STATUSES = ("planned", "assigned", "in_progress", "done", "failed", "cancelled")


@dataclass(frozen=True)
class ExistingVisit:
    visit_id: uuid.UUID
    spec: VisitSpec
    status: str


@dataclass
class VisitChanges:
    planned: list[VisitSpec] = field(default_factory=list)
    reinstated: list[tuple[uuid.UUID, VisitSpec]] = field(default_factory=list)
    moved: list[tuple[uuid.UUID, VisitSpec]] = field(default_factory=list)
    cancelled: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.planned or self.reinstated or self.moved or self.cancelled)


def reconcile_visits(
    desired: list[VisitSpec],
    existing: list[ExistingVisit],
    *,
    since: datetime,
    now: datetime,
    contract_active: bool,
    live_schedules: set[uuid.UUID],
) -> VisitChanges:
    """What to change so that the visits from `since` on are exactly `desired`.

    `existing` holds the contract's visits from `since` on plus any earlier ones still open. A visit the
    schedules no longer call for is cancelled; a changed one is moved; one already started stays as it is.
    """
    wanted = {spec.key: spec for spec in desired} if contract_active else {}
    by_key = {visit.spec.key: visit for visit in existing}
    changes = VisitChanges()
    for key, spec in wanted.items():
        current = by_key.get(key)
        if current is None:
            changes.planned.append(spec)
        elif current.status == "cancelled":
            changes.reinstated.append((current.visit_id, spec))
        elif current.status in MUTABLE_STATUSES and current.spec != spec:
            changes.moved.append((current.visit_id, spec))
    for visit in existing:
        if visit.status not in MUTABLE_STATUSES or visit.spec.key in wanted:
            continue
        if visit.spec.window.window_end <= now:
            continue  # its window has passed: it stays, and counts as overdue
        if not contract_active:
            changes.cancelled.append((visit.visit_id, "the contract is no longer active"))
        elif visit.spec.schedule_id not in live_schedules:
            changes.cancelled.append((visit.visit_id, "the schedule was removed"))
        elif visit.spec.occurrence_at >= since:
            changes.cancelled.append((visit.visit_id, "the schedule no longer calls for this visit"))
    return changes


@dataclass(frozen=True)
class VisitRow:
    id: uuid.UUID
    schedule_id: uuid.UUID
    occurrence_at: datetime
    contract_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_ids: tuple[uuid.UUID, ...]
    due_on: date
    due_at: datetime
    window_start: datetime
    window_end: datetime
    duration_minutes: int
    required_skills: tuple[tuple[str, int], ...]
    priority: str
    status: str
    carried_over_from: uuid.UUID | None
    carried_into: uuid.UUID | None
    carried_work: str | None

    @property
    def spec(self) -> VisitSpec:
        return VisitSpec(
            schedule_id=self.schedule_id,
            occurrence_at=self.occurrence_at,
            site_id=self.site_id,
            equipment_ids=self.equipment_ids,
            window=VisitWindow(self.due_on, self.due_at, self.window_start, self.window_end),
            duration_minutes=self.duration_minutes,
            skills=self.required_skills,
            priority=self.priority,
        )


def is_overdue(status: str, window_end: datetime, now: datetime) -> bool:
    """Not finished and its window has closed (the same rule the contract's health counts by)."""
    return status in OPEN_STATUSES and window_end <= now
