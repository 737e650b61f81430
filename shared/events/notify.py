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
    recipient: str
    source_event_id: uuid.UUID


class DeliveryFailed(_NotifyEvent):
    subject: ClassVar[str] = subject_for(PRODUCER, "delivery", "failed")

    delivery_id: uuid.UUID
    channel: str
    recipient: str
    source_event_id: uuid.UUID
    reason: str


EVENTS: list[type[Event]] = [DeliverySent, DeliveryFailed]
