"""Who is calling: a role and, for customers and technicians, what they own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    CONTRACT_MANAGER = "contract_manager"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    customer_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    name: str | None = None
    # when the token it came from expires (its `exp`): live streams close then
    expires_at: datetime | None = field(default=None, compare=False)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.DISPATCHER, Role.CONTRACT_MANAGER, Role.ADMIN)
