"""What a customer reads of a request, whichever route it calls (`/customer/...` or the shared `/requests/...`):
allow-listed fields and the customer's timeline (services/requests/domain/customer_view.py), never the staff view.
"""

from __future__ import annotations

from typing import Any

from services.requests.api.schemas import CustomerRequestDetail, CustomerRequestOut, CustomerTimelineEntry
from services.requests.domain.customer_view import customer_detail, customer_timeline
from services.requests.domain.filing import Coverage
from services.requests.domain.lifecycle import customer_may_cancel
from services.requests.domain.records import ServiceRequestRecord, TimelineRecord
from services.requests.usecases.viewing import RequestDetail

# the fields of a request a customer reads (CustomerRequestOut lists them; nothing else leaves)
CUSTOMER_FIELDS = {
    "id",
    "site_id",
    "equipment_id",
    "kind",
    "priority",
    "description",
    "contact",
    "preferred_windows",
    "status",
    "covered",
    "billable",
    "quota_exceeded",
    "response_due",
    "fix_due",
    "technician_first_name",
    "eta",
    "follow_up_of",
    "cancelled_at",
    "created_at",
    "updated_at",
}


def customer_request(row: ServiceRequestRecord) -> CustomerRequestOut:
    shown = {name: getattr(row, name) for name in CUSTOMER_FIELDS}
    coverage = Coverage(covered=row.covered, quota_exceeded=row.quota_exceeded)
    return CustomerRequestOut.model_validate(
        shown
        | {
            "coverage": coverage.label,
            "site_address": row.site_address,
            "may_cancel": customer_may_cancel(row.status),
        }
    )


def customer_request_detail(detail: RequestDetail) -> CustomerRequestDetail:
    """One request with its timeline as the customer sees it."""
    return CustomerRequestDetail.model_validate(
        {
            **customer_request(detail.request).model_dump(),
            "follow_up_request_id": detail.follow_up_request_id,
            "timeline": [
                CustomerTimelineEntry(id=entry.id, status=entry.status, at=entry.at, detail=shown)
                for entry, shown in customer_timeline(detail.timeline)
            ],
        }
    )


def customer_snapshot(current: ServiceRequestRecord) -> dict[str, Any]:
    """The tracking fields a customer's stream sends with each entry."""
    return customer_request(current).model_dump(
        mode="json", include={"status", "technician_first_name", "eta", "response_due", "fix_due", "may_cancel"}
    )


def customer_shown(entry: TimelineRecord) -> tuple[str, dict[str, Any]]:
    """An entry of the customer's stream: one the customer does not see still moves the cursor, as a bare update."""
    detail = customer_detail(entry)
    return (entry.status, detail) if detail is not None else ("update", {})
