"""What a customer's webhook carries of an event, and what its e-mails are worded from: allow-lists, the same
facts the customer's live stream shows. Staff ids, re-plan and decline reasons (they may name other customers'
addresses or a technician's sickness), positions and contract internals never leave; the message text beside it
is the customer's template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["CUSTOMER_MESSAGE_FIELDS", "CUSTOMER_WEBHOOK_FIELDS", "customer_message_facts", "customer_webhook_data"]

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


# a customer's e-mail (and its webhook's message text) may say these too: what notify itself remembers of the
# request (its kind and priority, the ETA the customer was promised before), and whom the survey greets
CUSTOMER_MESSAGE_FIELDS = (
    *CUSTOMER_WEBHOOK_FIELDS,
    "previous_eta",
    "request_kind",
    "request_priority",
    "contact_name",
)


def customer_message_facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts a customer's message is worded from: whatever a template names, nothing else can reach it."""
    return {name: facts[name] for name in CUSTOMER_MESSAGE_FIELDS if name in facts}
