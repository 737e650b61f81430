"""Territories on dispatch's side: the technicians' territory ids and the dispatcher's crossing policy (one row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository
from services.dispatch.domain.territories import Crossing, TerritoryPolicy


class TerritoryRepository(SessionRepository):
    async def territory_policy(self) -> TerritoryPolicy:
        """The dispatcher's policy, or the default while none was set."""
        p = t.territory_policy
        row = (await self.session.execute(select(p))).first()
        if row is None:
            return TerritoryPolicy()
        return TerritoryPolicy(
            crossing=row.crossing,
            crossing_cost_minutes=row.crossing_cost_minutes,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )

    async def set_territory_policy(self, crossing: Crossing, cost_minutes: int, at: datetime, by: str) -> None:
        p = t.territory_policy
        values = {"crossing": crossing, "crossing_cost_minutes": cost_minutes, "updated_at": at, "updated_by": by}
        await self.session.execute(
            pg_insert(p).values(id=True, **values).on_conflict_do_update(index_elements=[p.c.id], set_=values)
        )

    async def set_technician_territories(self, technician_id: uuid.UUID, territory_ids: Sequence[uuid.UUID]) -> bool:
        """False when there is no such technician."""
        tech = t.technicians
        result = await self.session.execute(
            update(tech)
            .where(tech.c.id == technician_id)
            .values(territory_ids=list(territory_ids))
            .returning(tech.c.id)
        )
        return result.first() is not None
