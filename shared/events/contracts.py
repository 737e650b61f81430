"""Events and request/reply commands of the contracts service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.events.common import GeoPoint, Priority, RequestKind, SkillNeed
from shared.events.envelope import Event, rpc_subject, subject_for

PRODUCER = "contracts"


class _ContractsEvent(Event):
    producer: ClassVar[str] = PRODUCER


class ContractActivated(_ContractsEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "contract", "activated")

    contract_id: uuid.UUID
    customer_id: uuid.UUID
    contract_type: str
    starts_on: str
    ends_on: str | None = None
    site_ids: list[uuid.UUID] = []
    equipment_ids: list[uuid.UUID] = []
    timezone: str | None = None


class ContractChanged(_ContractsEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "contract", "changed")

    contract_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    changes: list[str] = []


class ContractEnded(_ContractsEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "contract", "ended")

    contract_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    ended_on: str


class VisitPlanned(_ContractsEvent):
    """A planned maintenance visit with everything dispatch needs to route it."""

    subject: ClassVar[str] = subject_for(PRODUCER, "visit", "planned")

    visit_id: uuid.UUID
    contract_id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_ids: list[uuid.UUID] = []
    location: GeoPoint
    due_on: str
    window_start: datetime
    window_end: datetime
    duration_minutes: int
    skills: list[SkillNeed] = []
    priority: Priority = "P4"
    carried_over_from: uuid.UUID | None = None
    # added within v1; the visit_id is also the request_id dispatch books the visit under
    schedule_id: uuid.UUID | None = None
    due_at: datetime | None = None
    address: str | None = None
    timezone: str | None = None
    # the site's access hours in local time, {"mon": [["08:00", "20:00"]], ...}; None means any time
    access_hours: dict[str, list[list[str]]] | None = None
    carried_work: str | None = None
    # whom the technician calls on site (the site's contact), when the site names one
    site_contact_name: str | None = None
    site_contact_phone: str | None = None
    # added within v1: the contract's money terms for this priority (None: the planner's defaults), in the
    # contract's currency: the penalty per hour the arrival is late, and what the visit is worth (dropping it costs it)
    late_penalty_per_hour: float | None = None
    visit_value: float | None = None
    # the site's service territory (id), when it lies in one: dispatch prefers that territory's technicians
    territory_id: uuid.UUID | None = None


class VisitRescheduled(VisitPlanned):
    subject: ClassVar[str] = subject_for(PRODUCER, "visit", "rescheduled")


class VisitCancelled(_ContractsEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "visit", "cancelled")

    visit_id: uuid.UUID
    contract_id: uuid.UUID
    reason: str
    customer_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None


class ContractEndingSoon(_ContractsEvent):
    """A live contract's end date came within the notice window: time for its manager to talk renewal.

    Sent once per contract and end date (a contract extended later is announced again for its new date).
    """

    subject: ClassVar[str] = subject_for(PRODUCER, "contract", "ending_soon")

    contract_id: uuid.UUID
    customer_id: uuid.UUID
    ends_on: str
    days_left: int


class VisitsOverdue(_ContractsEvent):
    """More of a contract's planned visits are overdue (not done, window closed) than last announced."""

    subject: ClassVar[str] = subject_for(PRODUCER, "contract", "visits_overdue")

    contract_id: uuid.UUID
    customer_id: uuid.UUID
    overdue_count: int
    oldest_due_on: str


EVENTS: list[type[Event]] = [
    ContractActivated,
    ContractChanged,
    ContractEnded,
    VisitPlanned,
    VisitRescheduled,
    VisitCancelled,
    ContractEndingSoon,
    VisitsOverdue,
]

# --- request/reply ---------------------------------------------------------------------------------

CHECK_ENTITLEMENT = rpc_subject(PRODUCER, "check_entitlement")


class EntitlementQuery(BaseModel):
    """Is this site (or unit) covered for this kind of request, and with which SLA from `at`?"""

    model_config = ConfigDict(frozen=True)

    site_id: uuid.UUID
    equipment_id: uuid.UUID | None = None
    kind: RequestKind
    priority: Priority | None = None
    at: datetime
    # added within v1: asked on behalf of this request (by the requests service), the answer "quota left"
    # consumes one unit of quota for it, once (asking again answers the same and consumes nothing more);
    # without it the question is read-only. A reservation is made only on a site of `customer_id`, when given.
    request_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


class SiteFacts(BaseModel):
    model_config = ConfigDict(frozen=True)

    site_id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    location: GeoPoint
    # added within v1: the site's on-site contact, when it names one
    contact_name: str | None = None
    contact_phone: str | None = None
    territory_id: uuid.UUID | None = None  # the smallest territory covering the site, when one does


class EntitlementAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    found: bool
    site: SiteFacts | None = None
    covered: bool = False
    contract_id: uuid.UUID | None = None
    priority: Priority | None = None
    response_due: datetime | None = None
    fix_due: datetime | None = None
    quota_left: int | None = None
    quota_exceeded: bool = False
    required_skills: list[SkillNeed] = []
    reason: str = ""
    contract_type: str | None = None
    # added within v1: False when the asked unit is not at the site (the request is refused, not filed);
    # the unit's criticality (critical | high | normal | low) chose an emergency's default priority
    equipment_found: bool = True
    equipment_criticality: str | None = None
    # added within v1: the contract's money terms for this priority (None: the planner's defaults), in the
    # contract's currency: the penalty per hour the arrival is late, and what the visit is worth (dropping it costs it)
    late_penalty_per_hour: float | None = None
    visit_value: float | None = None
