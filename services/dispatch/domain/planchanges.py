"""What a re-plan changed, in words a dispatcher reads.

"visit X moved from Anna 10:30 to Oleg 14:00: Anna is off sick"

and who is told what of it: the technicians whose routes change, and the customer whose told arrival (the promise)
moves beyond the tolerance or whose technician changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class PlacedVisit:
    request_id: uuid.UUID
    label: str
    technician_id: uuid.UUID
    technician_name: str
    start: datetime
    # the arrival the customer was told (before a plan) or will be told (after it); None: not known
    eta: datetime | None = None


@dataclass(frozen=True)
class Notice:
    """Someone told of a change: the customer of the visit, or a technician whose route it changes."""

    audience: Literal["customer", "technician"]
    text: str
    technician_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PlanChange:
    request_id: uuid.UUID
    kind: str  # added, moved, retimed, dropped
    text: str
    from_technician_id: uuid.UUID | None = None
    to_technician_id: uuid.UUID | None = None
    from_start: datetime | None = None
    to_start: datetime | None = None
    told: tuple[Notice, ...] = ()
    promise_broken: bool = False  # the customer's told arrival moves beyond the tolerance


def diff_plans(
    before: Mapping[uuid.UUID, PlacedVisit],
    after: Mapping[uuid.UUID, PlacedVisit],
    *,
    reasons_by_technician: Mapping[uuid.UUID, str],
    reason: str,
    dropped_reasons: Mapping[uuid.UUID, str],
    tz: ZoneInfo,
    retime_threshold: timedelta = timedelta(minutes=15),
    promise_tolerance: timedelta = timedelta(minutes=30),
) -> list[PlanChange]:
    """Changes ordered by the time they were planned for, each with who is told; retimings below the threshold
    are not news, unless they move the customer's told arrival beyond the tolerance."""

    def hhmm(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%H:%M")

    def technician(visit: PlacedVisit, what: str) -> Notice:
        return Notice("technician", f"{visit.technician_name}: visit {visit.label} {what}", visit.technician_id)

    def broken(old: PlacedVisit, new: PlacedVisit) -> bool:
        return old.eta is not None and new.eta is not None and abs(new.eta - old.eta) > promise_tolerance

    def customer(old: PlacedVisit | None, new: PlacedVisit) -> tuple[Notice, ...]:
        if old is not None and old.eta is not None and new.eta is not None and broken(old, new):
            told = f"the customer is told the new arrival {hhmm(new.eta)} (promised {hhmm(old.eta)})"
            return (Notice("customer", told),)
        if old is None or old.technician_id != new.technician_id:
            return (Notice("customer", f"the customer is told {new.technician_name} comes"),)
        return ()

    def why(previous: PlacedVisit | None) -> str:
        if previous is not None and previous.technician_id in reasons_by_technician:
            return reasons_by_technician[previous.technician_id]
        return reason

    changes: list[PlanChange] = []
    told: tuple[Notice, ...]
    for request_id in sorted(set(before) | set(after), key=str):
        old, new = before.get(request_id), after.get(request_id)
        if old is not None and new is not None:
            promise_broken = broken(old, new)
            if old.technician_id != new.technician_id:
                kind = "moved"
                told = (technician(old, "leaves the route"), technician(new, f"joins the route at {hhmm(new.start)}"))
            elif abs(old.start - new.start) >= retime_threshold or promise_broken:
                kind = "retimed"
                told = (technician(new, f"now at {hhmm(new.start)}"),)
            else:
                continue
            text = (
                f"visit {new.label} moved from {old.technician_name} {hhmm(old.start)} "
                f"to {new.technician_name} {hhmm(new.start)}: {why(old)}"
            )
            changes.append(
                PlanChange(
                    request_id,
                    kind,
                    text,
                    old.technician_id,
                    new.technician_id,
                    old.start,
                    new.start,
                    told + customer(old, new),
                    promise_broken,
                )
            )
        elif new is not None:
            text = f"visit {new.label} planned for {new.technician_name} {hhmm(new.start)}"
            told = (technician(new, f"added at {hhmm(new.start)}"), *customer(None, new))
            changes.append(PlanChange(request_id, "added", text, None, new.technician_id, None, new.start, told))
        elif old is not None:
            lost = dropped_reasons.get(request_id, "no technician can fit it")
            text = (
                f"visit {old.label} taken off {old.technician_name} {hhmm(old.start)}, now unassigned: "
                f"{why(old)}; {lost}"
            )
            told = (technician(old, "taken off the route"), Notice("customer", "the customer is told it is unbooked"))
            broken_off = old.eta is not None
            changes.append(
                PlanChange(request_id, "dropped", text, old.technician_id, None, old.start, None, told, broken_off)
            )
    return sorted(changes, key=lambda c: c.from_start or c.to_start or datetime.max.replace(tzinfo=tz))
