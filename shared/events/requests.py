"""Events of the requests service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events.common import GeoPoint, Priority, RequestKind, SkillNeed
from shared.events.envelope import Event, subject_for

PRODUCER = "requests"


class _RequestsEvent(Event):
    producer: ClassVar[str] = PRODUCER


class PreferredWindow(BaseModel):
    """When a routine visit suits the customer."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime


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
    # added after v1's first release (optional, so older consumers and producers still match)
    billable: bool | None = None
    quota_exceeded: bool = False
    preferred_windows: list[PreferredWindow] = []
    follow_up_of: uuid.UUID | None = None
    # whom the technician asks for on site: the customer's, else the site's (a follow-up keeps the original's)
    contact_name: str = ""
    contact_phone: str = ""
    # the site's address as contracts gave it at filing
    address: str = ""
    # added within v1: the contract's money terms for this priority (None: the planner's defaults), in the
    # contract's currency: the penalty per hour the arrival is late, and what the visit is worth (dropping it costs it)
    late_penalty_per_hour: float | None = None
    visit_value: float | None = None
    # the site's service territory (contracts' id) at filing, when it lies in one: dispatch prefers its technicians
    territory_id: uuid.UUID | None = None


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
    # added after v1's first release
    comment: str = ""
    contract_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None
    equipment_id: uuid.UUID | None = None
    answered_at: datetime | None = None


class SurveyInvited(_RequestsEvent):
    """A job was completed: notify invites the customer to rate it through `link` (works without logging in)."""

    subject: ClassVar[str] = subject_for(PRODUCER, "survey", "invited")

    survey_id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    technician_id: uuid.UUID | None = None
    technician_first_name: str | None = None
    completed_at: datetime
    link: str
    token: str
    expires_at: datetime
    contact_name: str = ""


EVENTS: list[type[Event]] = [ServiceRequestCreated, ServiceRequestCancelled, SurveyAnswered, SurveyInvited]
