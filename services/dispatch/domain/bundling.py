"""Bundling: planned maintenance at the emergency's site that falls due within its window rides along."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class DueVisit:
    request_id: uuid.UUID
    window_start: datetime | None
    window_end: datetime | None
    duration_minutes: int
    started: bool  # the technician is already on it: leave it alone
    required_skills: Mapping[str, int] = field(default_factory=dict)


def visits_to_bundle(visits: Sequence[DueVisit], arrival: datetime, lookahead: timedelta) -> list[DueVisit]:
    """Visits whose window is open at the emergency's arrival, or opens within `lookahead` of it."""
    chosen = []
    for visit in visits:
        if visit.started or visit.window_start is None or visit.window_end is None:
            continue
        if visit.window_end >= arrival and visit.window_start <= arrival + lookahead:
            chosen.append(visit)
    return sorted(chosen, key=lambda v: (v.window_end, str(v.request_id)))
