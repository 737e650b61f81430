"""Visit schedules and the units a contract covers at a site."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, insert, select, text, update

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository, from_row, skills_to_json
from services.contracts.domain.contract import ScheduleRow


def _schedule(row: Any) -> ScheduleRow:
    return from_row(row, ScheduleRow)


_COVERED_UNITS_AT_SITES = text("""
SELECT e.site_id, e.id FROM equipment e
WHERE e.site_id = ANY (:site_ids)
  AND (e.id IN (SELECT equipment_id FROM contract_equipment WHERE contract_id = :contract_id)
       OR NOT EXISTS (SELECT 1 FROM contract_equipment ce JOIN equipment x ON x.id = ce.equipment_id
                      WHERE ce.contract_id = :contract_id AND x.site_id = e.site_id))
ORDER BY e.site_id, e.id
""")


class SchedulesRepository(Repository):
    """A contract's visit schedules."""

    async def add_schedule(self, schedule: ScheduleRow) -> None:
        await self.session.execute(insert(t.visit_schedules).values(**self._schedule_values(schedule)))

    async def update_schedule(self, schedule: ScheduleRow) -> None:
        await self.session.execute(
            update(t.visit_schedules)
            .where(t.visit_schedules.c.id == schedule.id)
            .values(updated_at=func.now(), **self._schedule_values(schedule))
        )

    @staticmethod
    def _schedule_values(schedule: ScheduleRow) -> dict[str, Any]:
        return {
            "id": schedule.id,
            "contract_id": schedule.contract_id,
            "site_id": schedule.site_id,
            "equipment_id": schedule.equipment_id,
            "rrule": schedule.rrule,
            "first_on": schedule.first_on,
            "visit_time": schedule.visit_time,
            "tolerance_days": schedule.tolerance_days,
            "duration_minutes": schedule.duration_minutes,
            "required_skills": skills_to_json(schedule.required_skills),
            "priority": schedule.priority,
            "active": schedule.active,
        }

    async def get_schedule(self, schedule_id: uuid.UUID) -> ScheduleRow | None:
        row = (
            await self.session.execute(select(t.visit_schedules).where(t.visit_schedules.c.id == schedule_id))
        ).first()
        return _schedule(row) if row else None

    async def list_schedules(self, contract_id: uuid.UUID, *, active_only: bool = False) -> list[ScheduleRow]:
        query = select(t.visit_schedules).where(t.visit_schedules.c.contract_id == contract_id)
        if active_only:
            query = query.where(t.visit_schedules.c.active.is_(True))
        rows = await self.session.execute(query.order_by(t.visit_schedules.c.created_at, t.visit_schedules.c.id))
        return [_schedule(r) for r in rows]

    async def covered_units_at(self, contract_id: uuid.UUID, site_id: uuid.UUID) -> list[uuid.UUID]:
        return (await self.covered_units_at_sites(contract_id, {site_id})).get(site_id, [])

    async def covered_units_at_sites(
        self, contract_id: uuid.UUID, site_ids: set[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The units the contract covers at each site, in id order (a site with none is left out)."""
        rows = await self.session.execute(
            _COVERED_UNITS_AT_SITES, {"contract_id": contract_id, "site_ids": list(site_ids)}
        )
        units: dict[uuid.UUID, list[uuid.UUID]] = {}
        for row in rows:
            units.setdefault(row.site_id, []).append(row.id)
        return units
