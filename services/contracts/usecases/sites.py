"""Sites and the equipment at them; changing a site tells dispatch again about its visits still to come."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.estate import EquipmentRow, ServiceStep, SiteRow
from services.contracts.usecases.visits import announce
from shared.errors import InvalidInput, NotFound
from shared.events.contracts import VisitRescheduled
from shared.pagination import Page

# columns a visit announcement carries: changing one of them re-announces the site's visits still to come
_ANNOUNCED = frozenset({"address", "access_hours", "contact_name", "contact_phone"})


async def change_site(session: AsyncSession, site_id: uuid.UUID, changes: dict[str, Any], now: datetime) -> SiteRow:
    """Apply `changes` (site columns) and re-announce the site's open visits when dispatch shows what changed."""
    repo = Repositories(session)
    if await repo.sites.get_site(site_id) is None:
        raise NotFound("site not found")
    if changes:
        await repo.sites.update_site(site_id, changes)
    if _ANNOUNCED & changes.keys():
        for timezone, visit_ids in (await repo.visits.visits_still_to_make_at(site_id, now)).items():
            await announce(repo, VisitRescheduled, visit_ids, timezone, now=now)
    site = await repo.sites.get_site(site_id)
    assert site is not None
    return site


async def create_site(session: AsyncSession, site: SiteRow) -> SiteRow:
    repo = Repositories(session)
    if await repo.customers.get_customer(site.customer_id) is None:
        raise NotFound("customer not found")
    if site.external_ref and await repo.sites.site_ref_taken(site.external_ref):
        raise InvalidInput("external_ref", "another site has this reference")
    await repo.sites.add_site(site)
    stored = await repo.sites.get_site(site.id)
    assert stored is not None
    return stored


async def list_sites(session: AsyncSession, customer_id: uuid.UUID) -> list[SiteRow]:
    return await Repositories(session).sites.list_sites(customer_id)


async def find_site(session: AsyncSession, site_id: uuid.UUID) -> SiteRow | None:
    return await Repositories(session).sites.get_site(site_id)


async def add_equipment(
    session: AsyncSession,
    site_id: uuid.UUID,
    *,
    equipment_type: str,
    model: str,
    serial: str,
    installed_on: date | None,
    warranty_ends_on: date | None,
    required_skills: tuple[tuple[str, int], ...],
    criticality: str,
) -> EquipmentRow:
    repo = Repositories(session)
    site = await repo.sites.get_site(site_id)
    if site is None:
        raise NotFound("site not found")
    if await repo.sites.serial_taken(model, serial):
        raise InvalidInput("serial", f"a {model} with this serial exists")
    unit = EquipmentRow(
        id=uuid.uuid4(),
        site_id=site_id,
        customer_id=site.customer_id,
        equipment_type=equipment_type,
        model=model,
        serial=serial,
        installed_on=installed_on,
        warranty_ends_on=warranty_ends_on,
        required_skills=required_skills,
        criticality=criticality,
    )
    await repo.sites.add_equipment(unit)
    return unit


async def site_equipment(session: AsyncSession, site_id: uuid.UUID) -> tuple[SiteRow | None, list[EquipmentRow]]:
    """The site (None if there is none) and its units."""
    repo = Repositories(session)
    site = await repo.sites.get_site(site_id)
    return site, (await repo.sites.list_equipment(site_id) if site is not None else [])


async def find_equipment(session: AsyncSession, equipment_id: uuid.UUID) -> EquipmentRow | None:
    return await Repositories(session).sites.get_equipment(equipment_id)


async def equipment_history(
    session: AsyncSession, equipment_id: uuid.UUID
) -> tuple[EquipmentRow | None, list[ServiceStep]]:
    """The unit (None if there is none) and its service history from dispatch's assignment events."""
    repo = Repositories(session)
    unit = await repo.sites.get_equipment(equipment_id)
    return unit, (await repo.sites.equipment_history(equipment_id) if unit is not None else [])


async def search_sites(
    session: AsyncSession, page: Page, search: str | None, customer_id: uuid.UUID | None
) -> list[SiteRow]:
    return await Repositories(session).sites.search_sites(page, search, customer_id)


async def search_equipment(
    session: AsyncSession, page: Page, search: str | None, customer_id: uuid.UUID | None, site_id: uuid.UUID | None
) -> list[EquipmentRow]:
    return await Repositories(session).sites.search_equipment(page, search, customer_id, site_id)


async def edit_equipment(session: AsyncSession, equipment_ids: list[uuid.UUID], changes: dict[str, Any]) -> int:
    """The same change to many units at once (type, criticality, skills); all listed units must exist."""
    repo = Repositories(session)
    found = await repo.sites.equipment_by_id(equipment_ids)
    missing = [str(i) for i in equipment_ids if i not in found]
    if missing:
        raise InvalidInput("equipment_ids", f"no such unit: {', '.join(missing[:5])}")
    if not changes:
        raise InvalidInput("changes", "nothing to change")
    return await repo.sites.update_equipment(equipment_ids, changes)


async def technician_serves_site(session: AsyncSession, technician_id: uuid.UUID, site_id: uuid.UUID) -> bool:
    """The technician is booked (last, per job) on a request or planned visit at the site: they may read the
    site's access hours and contact, its units and their history (what the technician app caches for the day)."""
    return await Repositories(session).sites.technician_serves_site(technician_id, site_id)
