"""Request and response bodies of the requests API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.events.common import Priority, RequestKind


class Contact(BaseModel):
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    email: str = Field(default="", max_length=200)


class PreferredWindowIn(BaseModel):
    start: datetime
    end: datetime


class ServiceRequestIn(BaseModel):
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None = None
    kind: RequestKind = "emergency"
    priority: Priority | None = None
    description: str = Field(default="", max_length=4000)
    contact: Contact = Contact()
    preferred_windows: list[PreferredWindowIn] = Field(default=[], description="routine requests only")


class CancelIn(BaseModel):
    reason: str = Field(default="", max_length=1000)


class TimelineEntry(BaseModel):
    status: str
    at: datetime
    detail: dict[str, Any] = {}


class EtaChange(BaseModel):
    at: datetime
    eta: datetime


class ServiceRequestOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    kind: str
    priority: str
    description: str
    contact: dict[str, Any] = {}
    preferred_windows: list[PreferredWindowIn] = []
    status: str
    coverage: Literal["covered", "not_covered", "quota_exceeded"]
    covered: bool
    billable: bool
    quota_exceeded: bool
    coverage_reason: str
    contract_id: uuid.UUID | None
    response_due: datetime | None
    fix_due: datetime | None
    technician_id: uuid.UUID | None
    technician_first_name: str | None
    eta: datetime | None
    follow_up_of: uuid.UUID | None = None
    unplaceable_reason: str | None = None
    cancelled_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class ServiceRequestDetail(ServiceRequestOut):
    """One request as its tracking page shows it."""

    follow_up_request_id: uuid.UUID | None = None
    eta_changes: list[EtaChange] = []
    timeline: list[TimelineEntry] = []


class SurveyAnswerIn(BaseModel):
    csat: int = Field(ge=1, le=5, description="customer satisfaction, 1-5")
    nps: int | None = Field(default=None, ge=0, le=10, description="would recommend, 0-10")
    comment: str = Field(default="", max_length=2000)


class SurveyOut(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    technician_first_name: str | None = None
    completed_at: datetime
    expires_at: datetime
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


class KpiReport(BaseModel):
    period_from: datetime
    period_to: datetime
    as_of: datetime
    bucket: str
    group_by: str
    on_time_tolerance_minutes: int
    repeat_window_days: int
    rows: list[KpiRowOut]
