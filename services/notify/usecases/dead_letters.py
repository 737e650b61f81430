"""notify's own dead letters, told to dispatchers through the same routing as events (each once, any replica)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.dead_letters import DeadLetterRepository
from services.notify.domain.routing import DEAD_LETTER
from services.notify.usecases.notifying import Notifier

_DEAD_LETTER_NAMESPACE = uuid.UUID("6f1d3c4e-2b1a-4c55-9d7e-0a4f3b2c1d00")


async def report_dead_letters(session: AsyncSession, notifier: Notifier) -> int:
    """Notices about the dead letters not reported yet (claimed until the caller commits); how many."""
    repo = DeadLetterRepository(session)
    letters = await repo.claim_unreported()
    for letter in letters:
        facts = {
            "service": "notify",
            "dead_letter_id": letter.id,
            "consumer": letter.consumer,
            "subject": letter.subject,
            "event_id": letter.event_id,
            "reason": letter.reason,
            "deliveries": letter.deliveries,
            "recorded_at": letter.created_at.isoformat(),
        }
        source = uuid.uuid5(_DEAD_LETTER_NAMESPACE, f"notify:{letter.id}")
        await notifier.handle(session, DEAD_LETTER, source, facts, letter.created_at)
        await repo.mark_reported(letter.id)
    return len(letters)
