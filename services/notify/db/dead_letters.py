"""notify's own dead letters and which of them dispatchers have been told about."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.delivery import DeadLetter
from shared.db import records


class DeadLetterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_unreported(self, limit: int = 50) -> list[DeadLetter]:
        """Dead letters not reported yet, locked until commit (another replica skips them)."""
        dl, reports = t.messaging.dead_letters, t.dead_letter_reports
        query = (
            select(dl.c.id, dl.c.consumer, dl.c.subject, dl.c.event_id, dl.c.reason, dl.c.deliveries, dl.c.created_at)
            .where(~select(reports.c.dead_letter_id).where(reports.c.dead_letter_id == dl.c.id).exists())
            .order_by(dl.c.id)
            .limit(limit)
            .with_for_update(of=dl, skip_locked=True)
        )
        return records(DeadLetter, await self.session.execute(query))

    async def mark_reported(self, dead_letter_id: int) -> None:
        await self.session.execute(
            pg_insert(t.dead_letter_reports).values(dead_letter_id=dead_letter_id).on_conflict_do_nothing()
        )
