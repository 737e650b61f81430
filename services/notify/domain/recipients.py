"""What a recipient is made of, as the use cases take it (the API's bodies are translated into these)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import TypedDict

from services.notify.domain.audience import Audience


class PreferenceChanges(TypedDict, total=False):
    """Only the fields being changed; None clears a nullable one (quiet hours, e-mail)."""

    name: str | None
    email: str | None
    language: str | None
    channels: list[str] | None
    time_zone: str | None
    quiet_start: time | None
    quiet_end: time | None
    active: bool | None


@dataclass(frozen=True)
class NewRecipient:
    """A recipient to add; preferences left out take the stored defaults."""

    kind: Audience
    customer_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    preferences: PreferenceChanges = field(default_factory=lambda: PreferenceChanges())


@dataclass(frozen=True)
class Recipient:
    """A stored recipient with its preferences."""

    id: uuid.UUID
    kind: str
    customer_id: uuid.UUID | None
    technician_id: uuid.UUID | None
    name: str
    email: str | None
    language: str
    channels: list[str]
    time_zone: str
    quiet_start: time | None
    quiet_end: time | None
    active: bool
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = None
    confirmation_token_hash: str | None = None
