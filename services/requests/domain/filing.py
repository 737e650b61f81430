"""Rules for accepting a request: priority, coverage flags, preferred windows, follow-ups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.errors import InvalidInput
from shared.events.common import Priority, RequestKind

MAX_PREFERRED_WINDOWS = 5
ESTIMATED_DURATION_MINUTES = {"emergency": 90, "routine": 60, "planned": 60}


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RequestDraft:
    """A request as a customer (or staff on their behalf) sends it, before contracts has answered."""

    site_id: uuid.UUID
    equipment_id: uuid.UUID | None
    kind: RequestKind
    priority: Priority | None
    description: str
    contact: dict[str, str]
    preferred_windows: tuple[TimeWindow, ...]
    fingerprint: str  # of the request as sent: an Idempotency-Key reused for a different request is refused


@dataclass(frozen=True)
class Coverage:
    """What the customer is told about cost: covered by a contract, or billable and why."""

    covered: bool
    quota_exceeded: bool

    @property
    def billable(self) -> bool:
        return not self.covered or self.quota_exceeded

    @property
    def label(self) -> str:
        if not self.covered:
            return "not_covered"
        return "quota_exceeded" if self.quota_exceeded else "covered"


def settled_priority(kind: str, asked: str | None, answered: str | None) -> str:
    """The request's priority: what was asked, else what contracts answered, else the kind's default.

    Contracts owns the equipment, so it picks P1 or P2 for an emergency by the unit's criticality.
    """
    return asked or answered or ("P2" if kind == "emergency" else "P3")


def check_preferred_windows(kind: str, windows: list[TimeWindow], now: datetime) -> None:
    if not windows:
        return
    if kind == "emergency":
        raise InvalidInput("preferred_windows", "an emergency is served as soon as possible, without windows")
    if len(windows) > MAX_PREFERRED_WINDOWS:
        raise InvalidInput("preferred_windows", f"at most {MAX_PREFERRED_WINDOWS} windows")
    for index, window in enumerate(windows):
        if window.end <= window.start:
            raise InvalidInput(f"preferred_windows.{index}", "a window must end after it starts")
        if window.end <= now:
            raise InvalidInput(f"preferred_windows.{index}", "a window must end in the future")


@dataclass(frozen=True)
class Deadlines:
    response_due: datetime | None
    fix_due: datetime | None


def deadlines_after_the_customers_window(
    kind: str, response_due: datetime | None, fix_due: datetime | None, windows: tuple[TimeWindow, ...]
) -> Deadlines:
    """Routine work the customer asked to be done in a window: the contract's clocks start no earlier than that.

    A response deadline that falls before the customer's earliest window cannot be met by the customer's own
    choice, so the SLA clocks are moved on by what the window asks: the response is due by the end of the
    earliest window (visits inside it are on time), the fix by as long after that as the contract gives.
    Emergencies have no windows and keep their deadlines; so does work whose deadline already allows the window.
    """
    if kind == "emergency" or not windows or response_due is None:
        return Deadlines(response_due, fix_due)
    earliest = min(windows, key=lambda w: w.start)
    delay = max(timedelta(0), earliest.end - response_due)
    return Deadlines(response_due + delay, fix_due + delay if fix_due is not None else None)


def follow_up_description(original_description: str, outcome: str) -> str:
    return f"Follow-up visit ({outcome}). Original request: {original_description}".strip()


def on_site_contact(given: dict[str, str], site_name: str | None, site_phone: str | None) -> dict[str, str]:
    """Whom the technician asks for: the person the customer named, else the site's own contact.

    The two are never mixed: a request naming anybody (name or phone) keeps exactly what it gave.
    """
    if given.get("name") or given.get("phone") or not (site_name or site_phone):
        return given
    return {**given, "name": site_name or "", "phone": site_phone or ""}


def as_filed_by_customer(draft: RequestDraft) -> RequestDraft:
    """A customer's own filing: the priority is the contract's decision, never the customer's (issue 16).

    A `priority` the customer sends (the portal's "stopped, goods at risk") is dropped: contracts' entitlement
    picks it by the unit's criticality and the SLA terms, and staff may change it. Planned visits are the
    company's to schedule, so a customer cannot file one.
    """
    if draft.kind == "planned":
        raise InvalidInput("kind", "planned visits are scheduled by the company; file an emergency or routine request")
    return replace(draft, priority=None)
