"""The use case behind every consumed event: remember what later notices need, push to live streams,
and queue one delivery per (event, recipient or webhook, channel)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.adapters.rendering import MessageTemplates
from services.notify.db.deliveries import DeliveryRepository
from services.notify.db.recipients import RecipientRepository
from services.notify.db.streams import StreamRepository
from services.notify.db.tracked_requests import TrackedRequestRepository
from services.notify.db.webhooks import WebhookRepository
from services.notify.domain.audience import Audience
from services.notify.domain.customer_webhook import customer_message_facts, customer_webhook_data
from services.notify.domain.preferences import send_after
from services.notify.domain.retry import RetryPolicy
from services.notify.domain.routing import Notice, RoutingPolicy, notices_for, stream_pushes_for
from shared.clock import Clock
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated


@dataclass(frozen=True)
class Notifier:
    """What the use case needs from the running service."""

    templates: MessageTemplates
    routing: RoutingPolicy
    retry: RetryPolicy
    default_time_zone: str
    clock: Clock
    notice_max_age: timedelta = timedelta(hours=24)

    async def handle(
        self,
        session: AsyncSession,
        subject: str,
        source_event_id: uuid.UUID,
        data: dict[str, Any],
        occurred_at: datetime | None = None,
    ) -> int:
        """Returns how many deliveries were queued now (0 when the event was seen before)."""
        now = self.clock.now()
        facts = await _remember(TrackedRequestRepository(session), subject, data, now)
        await StreamRepository(session).push_all(stream_pushes_for(subject, data), source_event_id)
        if occurred_at is not None and now - occurred_at > self.notice_max_age:
            return 0
        queued = 0
        for notice in notices_for(subject, facts, self.routing):
            queued += await self._queue(session, notice, subject, source_event_id, data, facts, occurred_at or now, now)
        if queued:
            await DeliveryRepository(session).wake_senders()
        return queued

    async def _queue(
        self,
        session: AsyncSession,
        notice: Notice,
        subject: str,
        source_event_id: uuid.UUID,
        data: dict[str, Any],
        facts: dict[str, Any],
        occurred_at: datetime,
        now: datetime,
    ) -> int:
        deliveries = DeliveryRepository(session)
        customer_id, request_id = _uuid(facts.get("customer_id")), _uuid(facts.get("request_id"))
        common = {
            "source_event_id": source_event_id,
            "event_type": subject,
            "template": notice.template,
            "customer_id": customer_id,
            "request_id": request_id,
            "urgent": notice.urgent,
        }
        queued = 0
        # what the message is worded from: for a customer field by field, so a template can name nothing internal
        wording = customer_message_facts(facts) if notice.audience is Audience.CUSTOMER else facts
        members = await RecipientRepository(session).audience_members(
            notice.audience, facts.get("customer_id"), facts.get(notice.whose)
        )
        for member in members:
            if "email" not in member.channels or not member.email:
                continue
            due = send_after(
                now,
                urgent=notice.urgent,
                time_zone=member.time_zone,
                quiet_start=member.quiet_start,
                quiet_end=member.quiet_end,
            )
            message = self.templates.render(notice.template, member.language, wording, member.time_zone)
            queued += await deliveries.add(
                {
                    **common,
                    "id": uuid.uuid4(),
                    "channel": "email",
                    "target": f"recipient:{member.id}",
                    "recipient_id": member.id,
                    "address": member.email,
                    "language": member.language,
                    "content": message.as_dict(),
                    "next_attempt_at": due,
                    "give_up_at": due + self.retry.window,
                }
            )
        if notice.audience is Audience.CUSTOMER and customer_id is not None:
            for webhook in await WebhookRepository(session).of_customer(customer_id, active_only=True):
                message = self.templates.render(notice.template, webhook.language, wording, self.default_time_zone)
                body = {
                    "type": notice.template,
                    "event_id": str(source_event_id),
                    "event_type": subject,
                    "occurred_at": occurred_at.isoformat(),
                    "customer_id": str(customer_id),
                    "request_id": str(request_id) if request_id else None,
                    "data": customer_webhook_data(data),
                    "message": {"language": webhook.language, "subject": message.subject, "text": message.text},
                }
                queued += await deliveries.add(
                    {
                        **common,
                        "id": uuid.uuid4(),
                        "channel": "webhook",
                        "target": f"webhook:{webhook.id}",
                        "webhook_id": webhook.id,
                        "address": webhook.url,
                        "language": webhook.language,
                        "content": body,
                        "next_attempt_at": now,
                        "give_up_at": now + self.retry.window,
                    }
                )
        return queued


_CARRY_ETA = frozenset({AssignmentCreated.subject, AssignmentStatusChanged.subject, AssignmentChanged.subject})


async def _remember(
    repo: TrackedRequestRepository, subject: str, data: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Facts for wording notices: the event, plus the request's kind and the ETA promised before this event."""
    facts = dict(data)
    request_id, customer_id = _uuid(data.get("request_id")), _uuid(data.get("customer_id"))
    if request_id is None or customer_id is None:
        return facts
    if subject == ServiceRequestCreated.subject:
        await repo.track(request_id, customer_id, {"kind": data.get("kind"), "priority": data.get("priority")}, now)
    tracked = await repo.get(request_id)
    if tracked is not None:
        facts["request_kind"] = tracked.kind
        facts["request_priority"] = tracked.priority
        if tracked.promised_eta is not None:  # what the customer was told beats what dispatch last planned
            facts["previous_eta"] = tracked.promised_eta.isoformat()
        facts["request_cancelled"] = tracked.cancelled
    if subject in _CARRY_ETA and data.get("eta") and data.get("customer_told") is not False:  # what was told
        await repo.track(request_id, customer_id, {"promised_eta": datetime.fromisoformat(data["eta"])}, now)
    if subject == ServiceRequestCancelled.subject:
        await repo.track(request_id, customer_id, {"cancelled": True}, now)
    return facts


def _uuid(value: object) -> uuid.UUID | None:
    if not value:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
