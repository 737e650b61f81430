"""Request and response bodies of the requests API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.events.common import Priority, RequestKind


class Contact(BaseModel):
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)


class ServiceRequestIn(BaseModel):
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None = None
    kind: RequestKind = "emergency"
    priority: Priority | None = None
    description: str = Field(default="", max_length=4000)
    contact: Contact = Contact()


class TimelineEntry(BaseModel):
    status: str
    at: datetime
    detail: dict[str, Any] = {}


class ServiceRequestOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    kind: str
    priority: str
    description: str
    status: str
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
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] = []
