"""Value types that several producers' events share."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Priority = Literal["P1", "P2", "P3", "P4"]
RequestKind = Literal["emergency", "routine", "planned"]


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SkillNeed(BaseModel):
    model_config = ConfigDict(frozen=True)

    skill: str
    min_level: int = Field(default=1, ge=1, le=5)
