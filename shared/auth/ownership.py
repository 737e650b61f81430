"""Object-level checks: a customer or technician sees only what is theirs, and learns nothing else exists."""

from __future__ import annotations

import uuid

from shared.auth.principal import Principal, Role
from shared.errors import NotFound


def ensure_customer_access(principal: Principal, customer_id: uuid.UUID, what: str = "resource") -> None:
    """Staff see everything; a customer only its own; anyone else is told it does not exist (404)."""
    if principal.is_staff:
        return
    if principal.role is Role.CUSTOMER and principal.customer_id == customer_id:
        return
    raise NotFound(f"{what} not found")


def ensure_technician_access(principal: Principal, technician_id: uuid.UUID, what: str = "resource") -> None:
    if principal.is_staff:
        return
    if principal.role is Role.TECHNICIAN and principal.technician_id == technician_id:
        return
    raise NotFound(f"{what} not found")
