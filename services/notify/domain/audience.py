"""Who hears about what: the audiences of notifications and the live stream of each."""

from __future__ import annotations

import uuid
from enum import StrEnum

DISPATCHERS = "dispatchers"
CONTRACT_MANAGERS = "contract_managers"


class Audience(StrEnum):
    """The kinds of people notify tells things to; recipients carry one of these as their kind."""

    CUSTOMER = "customer"
    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    CONTRACT_MANAGER = "contract_manager"


def technician_stream(technician_id: uuid.UUID | str) -> str:
    return f"technician:{technician_id}"


def customer_stream(customer_id: uuid.UUID | str) -> str:
    return f"customer:{customer_id}"


def stream_of(audience: Audience, customer_id: str | None, technician_id: str | None) -> str | None:
    """The live stream an audience reads, or None when the event does not name whose it is."""
    if audience is Audience.CUSTOMER:
        return customer_stream(customer_id) if customer_id else None
    if audience is Audience.TECHNICIAN:
        return technician_stream(technician_id) if technician_id else None
    if audience is Audience.DISPATCHER:
        return DISPATCHERS
    return CONTRACT_MANAGERS


def streams_for(role: str, customer_id: uuid.UUID | None, technician_id: uuid.UUID | None) -> list[str]:
    """One stream per caller (ids are ordered within a stream, which is what makes resuming gap-free)."""
    if role == "technician" and technician_id:
        return [technician_stream(technician_id)]
    if role == "customer" and customer_id:
        return [customer_stream(customer_id)]
    if role == "contract_manager":
        return [CONTRACT_MANAGERS]
    return [DISPATCHERS]
