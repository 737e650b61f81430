"""Events of the notify service."""

from __future__ import annotations

import uuid
from typing import ClassVar

from shared.events.envelope import Event, subject_for

PRODUCER = "notify"


class _NotifyEvent(Event):
    producer: ClassVar[str] = PRODUCER


class DeliverySent(_NotifyEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "delivery", "sent")

    delivery_id: uuid.UUID
    channel: str
    recipient: str  # "recipient:<id>" or "webhook:<id>"
    source_event_id: uuid.UUID
    template: str | None = None
    attempts: int | None = None


class DeliveryFailed(_NotifyEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "delivery", "failed")

    delivery_id: uuid.UUID
    channel: str
    recipient: str
    source_event_id: uuid.UUID
    reason: str
    template: str | None = None
    attempts: int | None = None
    gave_up: bool = False  # retried until the retry window closed (False: refused outright)


EVENTS: list[type[Event]] = [DeliverySent, DeliveryFailed]
