"""The one form of an instant in what requests shows: UTC, ISO 8601, with `Z` (local time only in rendered text)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_z(moment: datetime) -> str:
    """`moment` (timezone-aware) in UTC as ISO 8601 with `Z`: 2026-12-04T07:15:00Z."""
    if moment.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_z_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else utc_z(moment)
