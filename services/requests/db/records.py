"""Rows as the typed records of domain/records.py."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from services.requests.domain.records import PhotoRecord, ServiceRequestRecord, SurveyRecord, TimelineRecord

__all__ = ["PhotoRecord", "ServiceRequestRecord", "SurveyRecord", "TimelineRecord", "record"]

R = TypeVar("R", PhotoRecord, ServiceRequestRecord, SurveyRecord, TimelineRecord)


def record(cls: type[R], row: Any) -> R:
    """The record `cls` from a row holding (at least) its fields."""
    mapping = row._mapping
    return cls(**{f.name: mapping[f.name] for f in fields(cls)})
