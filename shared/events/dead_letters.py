"""`fieldline.<producer>.dead_letter.recorded.v1`: a service gave up on a message; dispatchers are told."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events.envelope import Event, subject_for


class DeadLetterRecorded(Event):
    """A message went to a service's dead-letter table: which consumer, which message, and why."""

    subject: ClassVar[str] = "fieldline.*.dead_letter.recorded.v1"
    producer: ClassVar[str] = "*"

    consumer: str
    message_subject: str
    event_id: str | None = None
    reason: str
    deliveries: int
    recorded_at: datetime


def _for(producer: str) -> type[DeadLetterRecorded]:
    return type(
        f"{producer.capitalize()}DeadLetterRecorded",
        (DeadLetterRecorded,),
        {
            "subject": subject_for(producer, "dead_letter", "recorded"),
            "producer": producer,
            "__doc__": DeadLetterRecorded.__doc__,
            "__module__": __name__,
        },
    )


DEAD_LETTER_EVENTS: dict[str, type[DeadLetterRecorded]] = {
    producer: _for(producer) for producer in ("contracts", "requests", "dispatch", "notify")
}

EVENTS: list[type[Event]] = list(DEAD_LETTER_EVENTS.values())
