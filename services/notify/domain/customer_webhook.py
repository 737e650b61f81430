"""What a customer's webhook carries of an event: an allow-list, the same facts the customer's live stream and
e-mails show. Staff ids, re-plan and decline reasons (they may name other customers' addresses or a technician's
sickness), positions and contract internals never leave; the message text beside it is the customer's template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CUSTOMER_WEBHOOK_FIELDS", "customer_webhook_data"]

CUSTOMER_WEBHOOK_FIELDS = (
    "request_id",
    "site_id",
    "kind",
    "priority",
    "covered",
    "status",
    "at",
    "eta",
    "technician_first_name",
    "response_due",
    "fix_due",
    "created_at",
    "cancelled_by",
    "outcome",
    # a survey invitation: the customer's own link
    "survey_id",
    "link",
    "expires_at",
)


def customer_webhook_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The event's data as a customer's webhook may carry it."""
    return {name: data[name] for name in CUSTOMER_WEBHOOK_FIELDS if name in data}
