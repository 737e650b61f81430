"""What a customer is shown of its own request: an allow-list, never the stored row or entry passed along.

The timeline keeps staff facts (who filed or cancelled by subject id, re-plan and decline reasons, assignment
ids, coverage reasons); the customer's portal, its stream and its history read only what is listed here.
An entry or a detail key not listed is not shown, so a new internal entry stays internal until listed.
"""

from __future__ import annotations

from typing import Any

from services.requests.domain.records import TimelineRecord

# the timeline entries a customer sees, and the detail keys of each it may read
CUSTOMER_TIMELINE: dict[str, tuple[str, ...]] = {
    "new": ("follow_up_of",),
    "assigned": ("technician_first_name", "eta"),
    "reassigned": ("technician_first_name",),
    "eta_changed": ("eta",),
    "accepted": (),
    "en_route": (),
    "on_site": (),
    "completed": (),
    "failed": ("outcome",),
    "unplaceable": (),  # "we are still looking for a technician": the dispatcher's reason stays inside
    "follow_up_opened": ("follow_up_request_id",),
    "cancelled": ("by", "reason"),
    "survey_invited": ("expires_at",),
    "survey_answered": (),
}

# the outcomes of a failed visit a customer reads in its own words (dispatch's outcome may be free text)
CUSTOMER_OUTCOMES = frozenset({"needs_parts", "no_access", "customer_absent"})


def customer_detail(entry: TimelineRecord) -> dict[str, Any] | None:
    """The entry's detail as the customer may read it, or None when the entry is not shown at all."""
    keys = CUSTOMER_TIMELINE.get(entry.status)
    if keys is None:
        return None
    detail = entry.detail
    shown: dict[str, Any] = {}
    if entry.status == "cancelled":
        # who: the customer, or the company (never a subject id); the reason only when it was the customer's own
        by_customer = detail.get("role") == "customer"
        shown["by"] = "customer" if by_customer else "company"
        if by_customer and detail.get("reason"):
            shown["reason"] = str(detail["reason"])
        return shown
    for key in keys:
        value = detail.get(key)
        if value is None or value == "":
            continue
        if key == "outcome" and value not in CUSTOMER_OUTCOMES:
            continue
        shown[key] = value
    return shown


def customer_timeline(entries: list[TimelineRecord]) -> list[tuple[TimelineRecord, dict[str, Any]]]:
    """The entries a customer sees, each with its allow-listed detail, in order."""
    shown = []
    for entry in entries:
        detail = customer_detail(entry)
        if detail is not None:
            shown.append((entry, detail))
    return shown
