"""Territories: which territories a technician belongs to, and the dispatcher's crossing policy.

Both change who should serve what, so the days of the horizon are queued for a re-plan (today's from now on).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.territories import Crossing, TerritoryPolicy
from services.dispatch.usecases.roster import Roster
from shared.errors import NotFound


class Territories:
    def __init__(self, roster: Roster) -> None:
        self.roster = roster

    async def policy(self, session: AsyncSession) -> TerritoryPolicy:
        return await DispatchRepository(session).territory_policy()

    async def set_policy(
        self, session: AsyncSession, crossing: Crossing, cost_minutes: int, by: str
    ) -> TerritoryPolicy:
        repo = DispatchRepository(session)
        await repo.set_territory_policy(crossing, cost_minutes, self.roster.clock(), by)
        cost = f", {cost_minutes} min a job" if crossing == "allow" else ""
        await self._replan(repo, f"territory crossing: {crossing}{cost}")
        return await repo.territory_policy()

    async def set_technician_territories(
        self, session: AsyncSession, technician_id: uuid.UUID, territory_ids: Sequence[uuid.UUID]
    ) -> None:
        repo = DispatchRepository(session)
        if not await repo.set_technician_territories(technician_id, sorted(set(territory_ids))):
            raise NotFound("technician not found")
        await self._replan(repo, "a technician's territories changed")

    async def _replan(self, repo: DispatchRepository, reason: str) -> None:
        for day in self.roster.horizon()[1:]:  # not yesterday's
            await repo.request_replan(day, reason)
