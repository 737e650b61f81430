"""What notify consumes: every routed subject that has a schema, each with its own durable consumer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain.routing import routed_subjects
from services.notify.usecases.notifying import Notifier
from shared.events.dead_letters import DeadLetterRecorded
from shared.events.dispatch import AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.envelope import Envelope, Event
from shared.events.registry import EVENT_TYPES
from shared.messaging import Subscription

# durable names already in use before the routing table; renaming one would replay its whole stream
_DURABLES = {
    AssignmentCreated.subject: "notify-assignment-created",
    AssignmentStatusChanged.subject: "notify-assignment-status",
    RequestUnplaceable.subject: "notify-unplaceable",
}


def durable_for(subject: str) -> str:
    """`notify-<entity>-<event>` (fieldline.<producer>.<entity>.<event>.v1)."""
    return _DURABLES.get(subject) or "notify-" + "-".join(subject.split(".")[2:4])


def subscriptions(notifier: Notifier) -> list[Subscription]:
    async def on_event(session: AsyncSession, envelope: Envelope, event: Event) -> None:
        facts = event.model_dump(mode="json")
        if isinstance(event, DeadLetterRecorded):  # the same facts as notify's own dead letters
            facts |= {"service": event.producer, "subject": event.message_subject}
        await notifier.handle(session, envelope.type, envelope.event_id, facts, envelope.occurred_at)

    return [
        Subscription(durable_for(subject), EVENT_TYPES[subject].producer, subject, on_event)
        for subject in sorted(routed_subjects())
        if subject in EVENT_TYPES and EVENT_TYPES[subject].producer != "notify"
    ]
