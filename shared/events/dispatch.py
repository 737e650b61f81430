"""Events of the dispatch service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from shared.events.common import GeoPoint
from shared.events.envelope import Event, subject_for

PRODUCER = "dispatch"

AssignmentStatus = Literal["offered", "accepted", "en_route", "on_site", "completed", "failed", "cancelled"]


class _DispatchEvent(Event):
    producer: ClassVar[str] = PRODUCER


class AssignmentCreated(_DispatchEvent):
    """A technician was booked for a request: who, when, and the ETA promised to the customer.

    A planned visit is booked under request_id = visit_id.
    """

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
    # added within v1
    kind: str | None = None  # emergency, routine, planned
    bundled_with: uuid.UUID | None = None  # the emergency this planned visit rides along with
    plan_version: int | None = None


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
    # added within v1
    reason: str | None = None  # why it was cancelled or failed, in words
    # why this step looks physically implausible (e.g. on site seconds after en route from 60 km): dispatch
    # alerted its dispatchers, and such an arrival is no trustworthy response time
    suspect: str | None = None


class AssignmentChanged(_DispatchEvent):
    """A booking moved: another technician, another time or a new ETA (re-plan, manual reassign, push-back)."""

    subject: ClassVar[str] = subject_for(PRODUCER, "assignment", "changed")

    assignment_id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID
    technician_first_name: str
    previous_technician_id: uuid.UUID
    status: AssignmentStatus
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    previous_eta: datetime
    reason: str
    plan_version: int | None = None
    # added within v1: whether this change tells the customer a new arrival (true: the promised one is broken;
    # false: the arrival stays within dispatch's tolerance of it); None: the receiver judges by its own threshold
    customer_told: bool | None = None


class RequestUnplaceable(_DispatchEvent):
    """No technician can take a request: the dispatcher is told why and what the best option was."""

    subject: ClassVar[str] = subject_for(PRODUCER, "request", "unplaceable")

    request_id: uuid.UUID
    customer_id: uuid.UUID
    reason: str
    best_option: str | None = None
    # added within v1
    best_technician_id: uuid.UUID | None = None
    best_eta: datetime | None = None
    response_due: datetime | None = None


class SlaAtRisk(_DispatchEvent):
    """The predicted arrival at a request is past its response deadline (not merely close to it)."""

    subject: ClassVar[str] = subject_for(PRODUCER, "request", "sla_at_risk")

    request_id: uuid.UUID
    customer_id: uuid.UUID
    response_due: datetime
    predicted_arrival: datetime | None  # None: nobody can get there at all
    reason: str
    assignment_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    best_option: str | None = None


class TechnicianMoved(_DispatchEvent):
    """A technician's live position moved: the newest fix of a batch of pings, newer than any before it.

    For the dispatchers' map; customers never get it (they follow the ETA, not the technician)."""

    subject: ClassVar[str] = subject_for(PRODUCER, "technician", "moved")

    technician_id: uuid.UUID
    position: GeoPoint
    at: datetime  # the device's time of the fix (checked against the service's clock)
    accuracy_m: int | None = None


class PlannedStop(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: uuid.UUID
    assignment_id: uuid.UUID | None = None
    eta: datetime
    planned_start: datetime
    planned_end: datetime


class PlanPublished(_DispatchEvent):
    """A new version of one day's plan: one event per technician whose route it changed."""

    subject: ClassVar[str] = subject_for(PRODUCER, "plan", "published")

    plan_id: uuid.UUID
    day: str  # ISO date, local to the dispatch region
    version: int
    technician_id: uuid.UUID
    stops: list[PlannedStop]
    reason: str
    changes: list[str] = []  # what moved, in words


EVENTS: list[type[Event]] = [
    AssignmentCreated,
    AssignmentStatusChanged,
    AssignmentChanged,
    RequestUnplaceable,
    SlaAtRisk,
    PlanPublished,
    TechnicianMoved,
]
