"""Deliveries as stored, the outcome of one attempt to send one, and the facts notices are worded from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    permanent: bool  # a failure that retrying cannot fix
    detail: str


@dataclass(frozen=True)
class Delivery:
    """One (event, recipient or webhook, channel): the log entry and the retry queue's row."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    event_type: str
    template: str
    channel: str  # email, webhook
    target: str  # "recipient:<id>" or "webhook:<id>"
    recipient_id: uuid.UUID | None
    webhook_id: uuid.UUID | None
    address: str  # the e-mail address or URL when the notice was made
    customer_id: uuid.UUID | None
    request_id: uuid.UUID | None
    language: str
    urgent: bool
    content: dict[str, Any]
    status: str  # queued, sent, failed, dead
    attempts: int
    next_attempt_at: datetime
    give_up_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class DeliveryAttempt:
    attempt: int
    at: datetime
    outcome: str  # sent, retry, failed, dead
    detail: str


@dataclass(frozen=True)
class TrackedRequest:
    """What notify remembers about a request to word later notices."""

    request_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str | None
    priority: str | None
    promised_eta: datetime | None
    cancelled: bool
    updated_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    """One of notify's own dead letters, to tell dispatchers about."""

    id: int
    consumer: str
    subject: str
    event_id: str | None
    reason: str
    deliveries: int
    created_at: datetime
