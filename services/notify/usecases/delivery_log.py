"""The delivery log dispatchers read: what was sent to whom, and every attempt."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.deliveries import DeliveryRepository
from services.notify.domain.delivery import Delivery, DeliveryAttempt
from shared.errors import NotFound


@dataclass(frozen=True)
class DeliveryFilter:
    request_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    source_event_id: uuid.UUID | None = None
    status: str | None = None
    channel: str | None = None
    limit: int = 100


async def deliveries(session: AsyncSession, where: DeliveryFilter) -> list[Delivery]:
    return await DeliveryRepository(session).find(
        request_id=where.request_id,
        customer_id=where.customer_id,
        source_event_id=where.source_event_id,
        status=where.status,
        channel=where.channel,
        limit=where.limit,
    )


# messages whose content is a credential for whoever holds it (a confirmation link)
CREDENTIAL_TEMPLATES = frozenset({"recipient_confirmation"})
# messages carrying a live link (a survey invitation): staff read everything but the link (issue 16)
LIVE_LINK_TEMPLATES = frozenset({"survey_invitation"})
LINK_WITHHELD = "(link withheld)"
_URL = re.compile(r"https?://[^\s\"'<>]+")
_LINK_KEYS = frozenset({"link", "token", "survey_url"})


def without_live_links(content: Any) -> Any:
    """`content` with every URL and every link or token value replaced by a placeholder."""
    if isinstance(content, str):
        return _URL.sub(LINK_WITHHELD, content)
    if isinstance(content, dict):
        return {k: LINK_WITHHELD if k in _LINK_KEYS else without_live_links(v) for k, v in content.items()}
    if isinstance(content, list):
        return [without_live_links(v) for v in content]
    return content


async def delivery_with_attempts(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[Delivery, list[DeliveryAttempt]]:
    repo = DeliveryRepository(session)
    row = await repo.get(delivery_id)
    if row is None:
        raise NotFound("delivery not found")
    if row.template in CREDENTIAL_TEMPLATES:
        # the link in it is the address owner's credential: staff see that it was sent, not the link
        row = replace(row, content={"subject": row.content.get("subject", ""), "text": "(single-use link withheld)"})
    elif row.template in LIVE_LINK_TEMPLATES:
        row = replace(row, content=without_live_links(row.content))
    return row, await repo.attempts_of(delivery_id)
