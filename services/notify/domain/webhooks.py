"""A customer's webhook as stored: its secrets are Fernet tokens (domain/secret_cipher.py), never plain text."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Webhook:
    id: uuid.UUID
    customer_id: uuid.UUID
    url: str
    secret: str  # encrypted
    previous_secret: str | None  # encrypted; signs too until previous_secret_expires_at
    previous_secret_expires_at: datetime | None
    secret_rotated_at: datetime | None
    language: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class WebhookWithSecret:
    """A webhook just registered or rotated, with its new secret in plain text (shown this once)."""

    webhook: Webhook
    secret: str


@dataclass(frozen=True)
class StoredSecrets:
    """A webhook's encrypted secrets, for re-encryption under another key."""

    id: uuid.UUID
    secret: str
    previous_secret: str | None
