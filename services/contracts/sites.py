"""Changing a site: what dispatch was told about its visits still to come is told again."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.contracts.db.repository import ContractsRepository, SiteRow
from services.contracts.visits import announce
from shared.db import Database
from shared.errors import NotFound
from shared.events.contracts import VisitRescheduled

# columns a visit announcement carries: changing one of them re-announces the site's visits still to come
_ANNOUNCED = frozenset({"address", "access_hours", "contact_name", "contact_phone"})


async def change_site(db: Database, site_id: uuid.UUID, changes: dict[str, Any], now: datetime) -> SiteRow:
    """Apply `changes` (site columns) and re-announce the site's open visits when dispatch shows what changed."""
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        if await repo.get_site(site_id) is None:
            raise NotFound("site not found")
        if changes:
            await repo.update_site(site_id, changes)
        if _ANNOUNCED & changes.keys():
            for timezone, visit_ids in (await repo.visits_still_to_make_at(site_id, now)).items():
                await announce(repo, VisitRescheduled, visit_ids, timezone, now=now)
        site = await repo.get_site(site_id)
    assert site is not None
    return site
