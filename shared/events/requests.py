"""Events of the requests service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from shared.events.common import GeoPoint, Priority, RequestKind, SkillNeed
from shared.events.envelope import Event, subject_for

PRODUCER = "requests"


class _RequestsEvent(Event):
    producer: ClassVar[str] = PRODUCER


class ServiceRequestCreated(_RequestsEvent):
    """A customer's request was accepted; dispatch places it, notify confirms it."""

    subject: ClassVar[str] = subject_for(PRODUCER, "service_request", "created")

    request_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None = None
    kind: RequestKind
    priority: Priority
    location: GeoPoint
    description: str = ""
    required_skills: list[SkillNeed] = []
    covered: bool
    contract_id: uuid.UUID | None = None
    response_due: datetime | None = None
    fix_due: datetime | None = None
    estimated_duration_minutes: int = 60
    created_at: datetime


class ServiceRequestCancelled(_RequestsEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "service_request", "cancelled")

    request_id: uuid.UUID
    customer_id: uuid.UUID
    cancelled_by: str
    reason: str = ""


class SurveyAnswered(_RequestsEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "survey", "answered")

    survey_id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID | None = None
    csat: int
    nps: int | None = None


EVENTS: list[type[Event]] = [ServiceRequestCreated, ServiceRequestCancelled, SurveyAnswered]
