"""Request and response bodies of the notify API."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.notify.domain.audience import Audience
from services.notify.domain.preferences import Language, RecipientChannel
from services.notify.domain.signing import DEFAULT_ROTATION_GRACE, MAX_ROTATION_GRACE
from shared.text import PlainText
from shared.timestamps import UtcDatetime

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Preferences(BaseModel):
    """What a recipient may change about themselves; omitted fields stay as they are."""

    name: PlainText | None = Field(default=None, max_length=200)
    email: PlainText | None = Field(default=None, max_length=320, pattern=_EMAIL)
    language: Language | None = None
    channels: list[RecipientChannel] | None = Field(default=None, description="e-mail is the only per-person channel")
    time_zone: PlainText | None = Field(default=None, description="IANA zone the quiet hours are in")
    quiet_start: time | None = Field(default=None, description="quiet hours start (wall clock); null: none")
    quiet_end: time | None = Field(default=None, description="quiet hours end; may be before the start (22:00-07:00)")
    active: bool | None = None


class RecipientIn(Preferences):
    kind: Audience
    customer_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None


class RecipientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the use cases' records
    id: uuid.UUID
    kind: Audience
    customer_id: uuid.UUID | None
    technician_id: uuid.UUID | None
    name: str
    email: str | None
    language: Language
    channels: list[RecipientChannel]
    time_zone: str
    quiet_start: time | None
    quiet_end: time | None
    active: bool
    confirmed_at: UtcDatetime | None = Field(
        description="when the address was confirmed; null: pending, nothing but the confirmation is sent to it"
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime


class WebhookIn(BaseModel):
    url: PlainText = Field(max_length=2000, description="https only")
    language: Language = "en"


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    customer_id: uuid.UUID
    url: str
    language: Language
    active: bool
    created_at: UtcDatetime
    secret_rotated_at: UtcDatetime | None = Field(default=None, description="the last rotation of the secret")
    previous_secret_expires_at: UtcDatetime | None = Field(
        default=None, description="the secret replaced at the last rotation also signs until then"
    )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="signs every delivery (Fieldline-Signature); shown only now")


class WebhookSecretRotation(BaseModel):
    grace_period_s: int = Field(
        default=int(DEFAULT_ROTATION_GRACE.total_seconds()),
        ge=0,
        le=int(MAX_ROTATION_GRACE.total_seconds()),
        description="seconds the old secret keeps signing next to the new one (0: stop at once); at most 7 days",
    )


class WebhookSecretRotated(WebhookOut):
    secret: str = Field(description="the new signing secret; shown only now")


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    at: UtcDatetime
    outcome: str
    detail: str


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    source_event_id: uuid.UUID
    event_type: str
    template: str
    channel: str
    target: str
    address: str
    customer_id: uuid.UUID | None
    request_id: uuid.UUID | None
    language: str
    urgent: bool
    status: str
    attempts: int
    next_attempt_at: UtcDatetime
    give_up_at: UtcDatetime
    last_error: str | None
    created_at: UtcDatetime
    sent_at: UtcDatetime | None


class DeliveryDetail(DeliveryOut):
    content: dict[str, Any]
    attempt_log: list[DeliveryAttempt]
