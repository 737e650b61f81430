"""What a re-plan changed, in words a dispatcher reads.

"visit X moved from Anna 10:30 to Oleg 14:00: Anna is off sick"
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class PlacedVisit:
    request_id: uuid.UUID
    label: str
    technician_id: uuid.UUID
    technician_name: str
    start: datetime


@dataclass(frozen=True)
class PlanChange:
    request_id: uuid.UUID
    kind: str  # added, moved, retimed, dropped
    text: str
    from_technician_id: uuid.UUID | None = None
    to_technician_id: uuid.UUID | None = None
    from_start: datetime | None = None
    to_start: datetime | None = None


def diff_plans(
    before: Mapping[uuid.UUID, PlacedVisit],
    after: Mapping[uuid.UUID, PlacedVisit],
    *,
    reasons_by_technician: Mapping[uuid.UUID, str],
    reason: str,
    dropped_reasons: Mapping[uuid.UUID, str],
    tz: ZoneInfo,
    retime_threshold: timedelta = timedelta(minutes=15),
) -> list[PlanChange]:
    """Changes ordered by the time they were planned for; retimings below the threshold are not news."""

    def hhmm(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%H:%M")

    def why(previous: PlacedVisit | None) -> str:
        if previous is not None and previous.technician_id in reasons_by_technician:
            return reasons_by_technician[previous.technician_id]
        return reason

    changes: list[PlanChange] = []
    for request_id in sorted(set(before) | set(after), key=str):
        old, new = before.get(request_id), after.get(request_id)
        if old is not None and new is not None:
            if old.technician_id != new.technician_id:
                kind = "moved"
            elif abs(old.start - new.start) >= retime_threshold:
                kind = "retimed"
            else:
                continue
            text = (
                f"visit {new.label} moved from {old.technician_name} {hhmm(old.start)} "
                f"to {new.technician_name} {hhmm(new.start)}: {why(old)}"
            )
            changes.append(
                PlanChange(request_id, kind, text, old.technician_id, new.technician_id, old.start, new.start)
            )
        elif new is not None:
            text = f"visit {new.label} planned for {new.technician_name} {hhmm(new.start)}"
            changes.append(PlanChange(request_id, "added", text, None, new.technician_id, None, new.start))
        elif old is not None:
            lost = dropped_reasons.get(request_id, "no technician can fit it")
            text = (
                f"visit {old.label} taken off {old.technician_name} {hhmm(old.start)}, now unassigned: "
                f"{why(old)}; {lost}"
            )
            changes.append(PlanChange(request_id, "dropped", text, old.technician_id, None, old.start, None))
    return sorted(changes, key=lambda c: c.from_start or c.to_start or datetime.max.replace(tzinfo=tz))
