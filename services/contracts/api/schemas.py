"""Request and response bodies of the contracts API."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.events.common import GeoPoint, Priority, SkillNeed

ContractType = Literal["full_maintenance", "on_call", "warranty"]


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class CustomerOut(BaseModel):
    id: uuid.UUID
    name: str


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    location: GeoPoint


class SiteOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    location: GeoPoint


class SlaTermIn(BaseModel):
    priority: Priority
    response_minutes: int = Field(gt=0, le=60 * 24 * 60)
    fix_minutes: int = Field(gt=0, le=60 * 24 * 120)
    required_skills: list[SkillNeed] = Field(default_factory=list, description="skills a technician needs")

    @model_validator(mode="after")
    def _fix_after_response(self) -> SlaTermIn:
        if self.fix_minutes < self.response_minutes:
            raise ValueError("fix_minutes must not be shorter than response_minutes")
        return self


class ContractIn(BaseModel):
    customer_id: uuid.UUID
    contract_type: ContractType
    starts_on: date
    ends_on: date | None = None
    site_ids: list[uuid.UUID] = Field(min_length=1)
    sla: list[SlaTermIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> ContractIn:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        if len({t.priority for t in self.sla}) != len(self.sla):
            raise ValueError("one SLA term per priority")
        return self


class ContractOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    contract_type: str
    status: str
    starts_on: date
    ends_on: date | None
    site_ids: list[uuid.UUID]
    sla: list[SlaTermIn]
