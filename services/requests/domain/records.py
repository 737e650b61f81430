"""What the repositories return and the use cases pass on: one frozen record per stored row, typed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ServiceRequestRecord:
    """A row of service_requests: the request, its coverage, and its current assignment (denormalised)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    kind: str
    priority: str
    description: str
    contact: dict[str, str]
    status: str
    covered: bool
    billable: bool
    quota_exceeded: bool
    coverage_reason: str
    contract_id: uuid.UUID | None
    response_due: datetime | None
    fix_due: datetime | None
    preferred_windows: list[dict[str, str]]  # as PreferredWindow's JSON
    site_lat: float | None
    site_lon: float | None
    site_address: str | None
    required_skills: list[dict[str, Any]]  # as SkillNeed's JSON
    idempotency_key: str
    request_fingerprint: str
    created_at: datetime
    updated_at: datetime
    follow_up_of: uuid.UUID | None = None
    assignment_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    technician_first_name: str | None = None
    eta: datetime | None = None
    unplaceable_reason: str | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    version: int = 1
    # the contract's money terms for the request's priority, passed on to dispatch's planner (None: its defaults)
    late_penalty_per_hour: float | None = None
    visit_value: float | None = None
    site_territory_id: uuid.UUID | None = None  # the site's service territory at filing, when it lies in one

    def values(self) -> dict[str, Any]:
        """The columns, for an insert."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# timeline ids come from a 32-bit serial: no entry ever had a larger one
TIMELINE_ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class TimelineRecord:
    id: int
    status: str
    at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True)
class SurveyRecord:
    id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    technician_id: uuid.UUID | None
    completed_at: datetime
    invited_at: datetime
    expires_at: datetime
    answered_at: datetime | None = None
    csat: int | None = None
    nps: int | None = None
    comment: str | None = None
    answered_via: str | None = None

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class PhotoRecord:
    """A customer's photo of what is wrong; its bytes are in the attachment store under `key`."""

    id: uuid.UUID
    request_id: uuid.UUID
    customer_id: uuid.UUID
    content_type: str
    size_bytes: int
    sha256: str
    store: str
    key: str
    uploaded_by: str
    created_at: datetime

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
