"""Request and response bodies of the dispatch API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from shared.events.common import GeoPoint


class TechnicianIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    skills: dict[str, int] = Field(default_factory=dict, description="skill → level 1..5")
    home_base: GeoPoint

    @field_validator("skills")
    @classmethod
    def _levels(cls, skills: dict[str, int]) -> dict[str, int]:
        for skill, level in skills.items():
            if not 1 <= level <= 5:
                raise ValueError(f"level of {skill!r} must be 1..5")
        return skills


class TechnicianOut(BaseModel):
    id: uuid.UUID
    name: str
    first_name: str
    skills: dict[str, int]
    status: str
    active: bool
    home_base: GeoPoint
    position: GeoPoint
    position_at: datetime | None


class AssignmentOut(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID
    technician_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime
    version: int


class StatusChangeIn(BaseModel):
    status: Literal["accepted", "declined", "en_route", "on_site", "completed", "failed"]
    at: datetime | None = None
    position: GeoPoint | None = None
    outcome: str | None = Field(default=None, max_length=200)
