"""Request and response bodies of the requests API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, PlainSerializer

from shared.events.common import Priority, RequestKind
from shared.text import PlainText
from shared.timestamps import utc_z

# every instant the API returns: UTC with `Z`, whatever offset it was given or stored with
UtcDatetime = Annotated[AwareDatetime, PlainSerializer(utc_z, return_type=str, when_used="json")]


class Contact(BaseModel):
    name: PlainText = Field(default="", max_length=200)
    phone: PlainText = Field(default="", max_length=50)
    email: PlainText = Field(default="", max_length=200)


class PreferredWindowIn(BaseModel):
    # as sent (its JSON is the request's fingerprint, stored with each Idempotency-Key: keep the form)
    start: AwareDatetime
    end: AwareDatetime


class PreferredWindowOut(BaseModel):
    start: UtcDatetime
    end: UtcDatetime


class ServiceRequestIn(BaseModel):
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None = None
    kind: RequestKind = "emergency"
    priority: Priority | None = None
    description: PlainText = Field(default="", max_length=4000)
    contact: Contact = Contact()
    preferred_windows: list[PreferredWindowIn] = Field(default=[], description="routine requests only")


class CancelIn(BaseModel):
    reason: PlainText = Field(default="", max_length=1000)


class TimelineEntry(BaseModel):
    status: str
    at: UtcDatetime
    detail: dict[str, Any] = {}


class EtaChange(BaseModel):
    at: UtcDatetime
    eta: UtcDatetime


class ServiceRequestOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    kind: str
    priority: str
    description: str
    contact: dict[str, Any] = {}
    preferred_windows: list[PreferredWindowOut] = []
    status: str
    coverage: Literal["covered", "not_covered", "quota_exceeded"]
    covered: bool
    billable: bool
    quota_exceeded: bool
    coverage_reason: str
    contract_id: uuid.UUID | None
    response_due: UtcDatetime | None
    fix_due: UtcDatetime | None
    technician_id: uuid.UUID | None
    technician_first_name: str | None
    eta: UtcDatetime | None
    follow_up_of: uuid.UUID | None = None
    unplaceable_reason: str | None = None
    cancelled_at: UtcDatetime | None = None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ServiceRequestDetail(ServiceRequestOut):
    """One request as its tracking page shows it."""

    follow_up_request_id: uuid.UUID | None = None
    eta_changes: list[EtaChange] = []
    timeline: list[TimelineEntry] = []


class SurveyAnswerIn(BaseModel):
    csat: int = Field(ge=1, le=5, description="customer satisfaction, 1-5")
    nps: int | None = Field(default=None, ge=0, le=10, description="would recommend, 0-10")
    comment: PlainText = Field(default="", max_length=2000)


class SurveyOut(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    technician_first_name: str | None = None
    completed_at: UtcDatetime
    expires_at: UtcDatetime
    answered: bool
    csat: int | None = None
    nps: int | None = None
    comment: str | None = None


class RatingOut(BaseModel):
    count: int
    csat_mean: float | None
    nps: float | None
    nps_count: int
    window_days: int
    since: date


class RatioOut(BaseModel):
    count: int
    hits: int
    rate: float | None


class KpiRowOut(BaseModel):
    period_start: date | None
    group_by: str
    key: uuid.UUID | None
    requests: int
    response_sla: RatioOut
    fix_sla: RatioOut
    on_time_arrival: RatioOut
    first_time_fix: RatioOut
    repeat_visits: RatioOut
    mean_response_minutes: float | None
    csat_count: int
    csat_mean: float | None
    nps_count: int
    nps: float | None
    emergency_response_median_minutes: float | None
    emergency_response_p90_minutes: float | None
    eta_late_median_minutes: float | None = Field(description="first arrival against the first promised ETA")
    eta_late_p90_minutes: float | None


class KpiReport(BaseModel):
    period_from: UtcDatetime
    period_to: UtcDatetime
    as_of: UtcDatetime
    bucket: str
    group_by: str
    on_time_tolerance_minutes: int
    repeat_window_days: int
    rows: list[KpiRowOut]


class CustomerTimelineEntry(BaseModel):
    """A timeline entry as its customer sees it: the step, when, and only the allow-listed detail."""

    id: int
    status: str
    at: UtcDatetime
    detail: dict[str, Any] = {}


class CustomerRequestOut(BaseModel):
    """A request as its customer sees it: no staff ids, no internal reasons, no contract internals."""

    id: uuid.UUID
    site_id: uuid.UUID
    site_address: str | None = None
    equipment_id: uuid.UUID | None
    kind: str
    priority: str
    description: str
    contact: dict[str, Any] = {}
    preferred_windows: list[PreferredWindowOut] = []
    status: str
    coverage: Literal["covered", "not_covered", "quota_exceeded"]
    covered: bool
    billable: bool
    quota_exceeded: bool
    response_due: UtcDatetime | None
    fix_due: UtcDatetime | None
    technician_first_name: str | None
    eta: UtcDatetime | None
    follow_up_of: uuid.UUID | None = None
    cancelled_at: UtcDatetime | None = None
    may_cancel: bool = Field(description="the customer may still cancel (until the technician is on the way)")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class CustomerRequestDetail(CustomerRequestOut):
    follow_up_request_id: uuid.UUID | None = None
    timeline: list[CustomerTimelineEntry] = []
