"""Events of the dispatch service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from shared.events.common import GeoPoint
from shared.events.envelope import Event, subject_for

PRODUCER = "dispatch"

AssignmentStatus = Literal["offered", "accepted", "en_route", "on_site", "completed", "failed", "cancelled"]


class _DispatchEvent(Event):
    producer: ClassVar[str] = PRODUCER


class AssignmentCreated(_DispatchEvent):
    """A technician was booked for a request: who, when, and the ETA promised to the customer."""

    subject: ClassVar[str] = subject_for(PRODUCER, "assignment", "created")

    assignment_id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID
    technician_first_name: str
    status: AssignmentStatus
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    site_location: GeoPoint | None = None


class AssignmentStatusChanged(_DispatchEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "assignment", "status_changed")

    assignment_id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID
    status: AssignmentStatus
    previous_status: AssignmentStatus
    at: datetime
    position: GeoPoint | None = None
    outcome: str | None = None
    eta: datetime | None = None


class RequestUnplaceable(_DispatchEvent):
    """No technician can take a request: the dispatcher is told why and what the best option was."""

    subject: ClassVar[str] = subject_for(PRODUCER, "request", "unplaceable")

    request_id: uuid.UUID
    customer_id: uuid.UUID
    reason: str
    best_option: str | None = None


EVENTS: list[type[Event]] = [AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable]
