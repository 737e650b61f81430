"""Sites and the equipment at them, with each unit's service history."""

from __future__ import annotations

import uuid
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import cast, func, insert, select, text, true, update

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository, contains, from_row, point_wkt, searchable, skills_to_json
from services.contracts.domain.estate import EquipmentRow, ServiceStep, SiteRow
from shared.pagination import Page


def _territory() -> Any:
    """The territory a site lies in: the smallest polygon that covers its point."""
    return (
        select(t.territories.c.id, t.territories.c.name)
        .where(func.ST_Covers(t.territories.c.area, t.sites.c.location))
        .order_by(func.ST_Area(t.territories.c.area), t.territories.c.name)
        .limit(1)
        .lateral("territory")
    )


def _site_query() -> Any:
    territory = _territory()
    return select(
        t.sites.c.id,
        t.sites.c.customer_id,
        t.sites.c.name,
        t.sites.c.address,
        ST_Y(cast(t.sites.c.location, Geometry)).label("lat"),
        ST_X(cast(t.sites.c.location, Geometry)).label("lon"),
        t.sites.c.external_ref,
        t.sites.c.access_hours,
        t.sites.c.contact_name,
        t.sites.c.contact_phone,
        territory.c.id.label("territory_id"),
        territory.c.name.label("territory_name"),
    ).select_from(t.sites.outerjoin(territory, true()))


def _equipment(row: Any) -> EquipmentRow:
    return from_row(row, EquipmentRow)


_EQUIPMENT_HISTORY = text("""
WITH jobs AS (
    SELECT request_id, kind FROM service_jobs WHERE equipment_id = :equipment_id
    UNION
    SELECT id, 'planned' FROM planned_visits WHERE :equipment_id = ANY (equipment_ids)
)
SELECT s.request_id, j.kind, s.assignment_id, s.technician_id, s.status, s.at, s.outcome
FROM assignment_steps s JOIN jobs j ON j.request_id = s.request_id
ORDER BY s.at, s.assignment_id
""")


# whether the technician is the one last booked on some job at the site (a request or a planned visit)
_TECHNICIAN_SERVES_SITE = text("""
SELECT EXISTS (
    SELECT 1 FROM (
        SELECT DISTINCT ON (s.request_id) s.technician_id
        FROM assignment_steps s
        JOIN (
            SELECT request_id FROM service_jobs WHERE site_id = :site_id
            UNION
            SELECT id FROM planned_visits WHERE site_id = :site_id
        ) j ON j.request_id = s.request_id
        ORDER BY s.request_id, s.at DESC
    ) latest
    WHERE latest.technician_id = :technician_id
)
""")


class SitesRepository(Repository):
    """Sites (with the territory each lies in) and their equipment."""

    async def add_site(self, site: SiteRow) -> None:
        await self.session.execute(
            insert(t.sites).values(
                id=site.id,
                customer_id=site.customer_id,
                name=site.name,
                address=site.address,
                location=point_wkt(site.lat, site.lon),
                external_ref=site.external_ref,
                access_hours=site.access_hours,
                contact_name=site.contact_name,
                contact_phone=site.contact_phone,
            )
        )

    async def update_site(self, site_id: uuid.UUID, changes: dict[str, Any]) -> None:
        """Change the named columns of a site (`lat`/`lon` are not among them: a site does not move)."""
        await self.session.execute(update(t.sites).where(t.sites.c.id == site_id).values(**changes))

    async def site_ref_taken(self, external_ref: str) -> bool:
        query = select(t.sites.c.id).where(t.sites.c.external_ref == external_ref)
        return (await self.session.execute(query)).first() is not None

    async def get_site(self, site_id: uuid.UUID) -> SiteRow | None:
        row = (await self.session.execute(_site_query().where(t.sites.c.id == site_id))).first()
        return SiteRow(**row._mapping) if row else None

    async def sites_by_id(self, site_ids: set[uuid.UUID]) -> dict[uuid.UUID, SiteRow]:
        rows = await self.session.execute(_site_query().where(t.sites.c.id.in_(site_ids)))
        return {r.id: SiteRow(**r._mapping) for r in rows}

    async def list_sites(self, customer_id: uuid.UUID) -> list[SiteRow]:
        rows = await self.session.execute(
            _site_query().where(t.sites.c.customer_id == customer_id).order_by(t.sites.c.name, t.sites.c.id)
        )
        return [SiteRow(**r._mapping) for r in rows]

    async def search_sites(self, page: Page, search: str | None, customer_id: uuid.UUID | None) -> list[SiteRow]:
        """A page of every customer's sites by name, matching `search` in name, address or reference."""
        query = _site_query().order_by(t.sites.c.name, t.sites.c.id)
        if customer_id is not None:
            query = query.where(t.sites.c.customer_id == customer_id)
        if search:
            pattern = contains(search)
            query = query.where(searchable(t.sites).ilike(pattern))
        return [SiteRow(**r._mapping) for r in await self.session.execute(page.of(query))]

    async def search_equipment(
        self, page: Page, search: str | None, customer_id: uuid.UUID | None, site_id: uuid.UUID | None
    ) -> list[EquipmentRow]:
        """A page of units by type and serial, matching `search` in type, model or serial."""
        e = t.equipment.c
        query = select(t.equipment).order_by(e.equipment_type, e.serial, e.id)
        if customer_id is not None:
            query = query.where(e.customer_id == customer_id)
        if site_id is not None:
            query = query.where(e.site_id == site_id)
        if search:
            pattern = contains(search)
            query = query.where(searchable(t.equipment).ilike(pattern))
        return [_equipment(r) for r in await self.session.execute(page.of(query))]

    async def update_equipment(self, equipment_ids: list[uuid.UUID], changes: dict[str, Any]) -> int:
        """Set the same columns on every listed unit; returns how many there were."""
        if "required_skills" in changes:
            changes = {**changes, "required_skills": skills_to_json(changes["required_skills"])}
        result = await self.session.execute(
            update(t.equipment).where(t.equipment.c.id.in_(equipment_ids)).values(**changes)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def add_equipment(self, unit: EquipmentRow) -> None:
        await self.session.execute(
            insert(t.equipment).values(
                id=unit.id,
                site_id=unit.site_id,
                customer_id=unit.customer_id,
                equipment_type=unit.equipment_type,
                model=unit.model,
                serial=unit.serial,
                installed_on=unit.installed_on,
                warranty_ends_on=unit.warranty_ends_on,
                required_skills=skills_to_json(unit.required_skills),
                criticality=unit.criticality,
            )
        )

    async def serial_taken(self, model: str, serial: str) -> bool:
        query = select(t.equipment.c.id).where(t.equipment.c.model == model, t.equipment.c.serial == serial)
        return (await self.session.execute(query)).first() is not None

    async def get_equipment(self, equipment_id: uuid.UUID) -> EquipmentRow | None:
        row = (await self.session.execute(select(t.equipment).where(t.equipment.c.id == equipment_id))).first()
        return _equipment(row) if row else None

    async def equipment_by_id(self, equipment_ids: list[uuid.UUID]) -> dict[uuid.UUID, EquipmentRow]:
        rows = await self.session.execute(select(t.equipment).where(t.equipment.c.id.in_(equipment_ids)))
        return {r.id: _equipment(r) for r in rows}

    async def list_equipment(self, site_id: uuid.UUID) -> list[EquipmentRow]:
        rows = await self.session.execute(
            select(t.equipment)
            .where(t.equipment.c.site_id == site_id)
            .order_by(t.equipment.c.equipment_type, t.equipment.c.serial)
        )
        return [_equipment(r) for r in rows]

    async def technician_serves_site(self, technician_id: uuid.UUID, site_id: uuid.UUID) -> bool:
        found = await self.session.execute(
            _TECHNICIAN_SERVES_SITE, {"technician_id": technician_id, "site_id": site_id}
        )
        return bool(found.scalar())

    async def equipment_history(self, equipment_id: uuid.UUID) -> list[ServiceStep]:
        rows = await self.session.execute(_EQUIPMENT_HISTORY, {"equipment_id": equipment_id})
        return [ServiceStep(**r._mapping) for r in rows]
