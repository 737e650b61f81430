"""One timestamp form in APIs: UTC with `Z` (local time only in rendered text).

`UtcDatetime` serializes a model field that way whatever offset the value carries (a clock's local time, a
database's UTC); `in_utc` does the same for a plain dict or list answered without a response model.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import PlainSerializer

__all__ = ["UtcDatetime", "in_utc", "utc_z", "utc_z_or_none"]


def utc_z(moment: datetime) -> str:
    """`moment` in UTC, ISO 8601 with `Z` (a naive value is taken as UTC already)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def utc_z_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else utc_z(moment)


UtcDatetime = Annotated[datetime, PlainSerializer(utc_z, return_type=str, when_used="json")]


def in_utc(value: Any) -> Any:
    """`value` with every datetime inside (dicts, lists, tuples) as a UTC `Z` string; the rest unchanged."""
    if isinstance(value, datetime):
        return utc_z(value)
    if isinstance(value, Mapping):
        return {k: in_utc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [in_utc(v) for v in value]
    return value
