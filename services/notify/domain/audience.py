"""Who hears about what on the live streams."""

from __future__ import annotations

import uuid

DISPATCHERS = "dispatchers"


def technician_stream(technician_id: uuid.UUID) -> str:
    return f"technician:{technician_id}"


def customer_stream(customer_id: uuid.UUID) -> str:
    return f"customer:{customer_id}"
