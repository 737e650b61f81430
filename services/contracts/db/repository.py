"""Every query of the contracts service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import and_, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db import tables as t
from services.contracts.domain.sla import SlaTerm


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


@dataclass(frozen=True)
class SiteRow:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    address: str
    lat: float
    lon: float


_site_columns = (
    t.sites.c.id,
    t.sites.c.customer_id,
    t.sites.c.name,
    t.sites.c.address,
    ST_Y(cast(t.sites.c.location, Geometry)).label("lat"),
    ST_X(cast(t.sites.c.location, Geometry)).label("lon"),
)


def _term(row: Any) -> SlaTerm:
    skills = tuple((s["skill"], int(s["min_level"])) for s in row.required_skills)
    return SlaTerm(row.priority, row.response_minutes, row.fix_minutes, skills)


class ContractsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_customer(self, customer_id: uuid.UUID, name: str) -> None:
        await self.session.execute(insert(t.customers).values(id=customer_id, name=name))

    async def get_customer(self, customer_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.customers).where(t.customers.c.id == customer_id))).first()
        return dict(row._mapping) if row else None

    async def add_site(self, site: SiteRow) -> None:
        await self.session.execute(
            insert(t.sites).values(
                id=site.id, customer_id=site.customer_id, name=site.name, address=site.address,
                location=point_wkt(site.lat, site.lon),
            )
        )

    async def get_site(self, site_id: uuid.UUID) -> SiteRow | None:
        row = (await self.session.execute(select(*_site_columns).where(t.sites.c.id == site_id))).first()
        return SiteRow(**row._mapping) if row else None

    async def list_sites(self, customer_id: uuid.UUID) -> list[SiteRow]:
        rows = await self.session.execute(
            select(*_site_columns).where(t.sites.c.customer_id == customer_id).order_by(t.sites.c.name)
        )
        return [SiteRow(**r._mapping) for r in rows]

    async def add_contract(self, contract_id: uuid.UUID, customer_id: uuid.UUID, contract_type: str,
                           starts_on: date, ends_on: date | None, site_ids: list[uuid.UUID],
                           terms: list[SlaTerm]) -> None:
        await self.session.execute(
            insert(t.contracts).values(id=contract_id, customer_id=customer_id, contract_type=contract_type,
                                       status="draft", starts_on=starts_on, ends_on=ends_on)
        )
        if site_ids:
            await self.session.execute(
                insert(t.contract_sites), [{"contract_id": contract_id, "site_id": s} for s in site_ids]
            )
        if terms:
            await self.session.execute(
                insert(t.sla_terms),
                [{"contract_id": contract_id, "priority": term.priority, "response_minutes": term.response_minutes,
                  "fix_minutes": term.fix_minutes,
                  "required_skills": [{"skill": s, "min_level": lvl} for s, lvl in term.required_skills]}
                 for term in terms],
            )

    async def get_contract(self, contract_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(t.contracts).where(t.contracts.c.id == contract_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        contract = dict(row._mapping)
        contract["site_ids"] = list(
            (await self.session.execute(
                select(t.contract_sites.c.site_id).where(t.contract_sites.c.contract_id == contract_id)
            )).scalars()
        )
        contract["sla"] = [
            _term(r)
            for r in await self.session.execute(
                select(t.sla_terms).where(t.sla_terms.c.contract_id == contract_id).order_by(t.sla_terms.c.priority)
            )
        ]
        return contract

    async def set_contract_status(self, contract_id: uuid.UUID, status: str) -> None:
        await self.session.execute(update(t.contracts).where(t.contracts.c.id == contract_id).values(status=status))

    async def active_contract_for_site(self, site_id: uuid.UUID, on: date) -> uuid.UUID | None:
        query = (
            select(t.contracts.c.id)
            .join(t.contract_sites, t.contract_sites.c.contract_id == t.contracts.c.id)
            .where(
                and_(
                    t.contract_sites.c.site_id == site_id,
                    t.contracts.c.status == "active",
                    t.contracts.c.starts_on <= on,
                    func.coalesce(t.contracts.c.ends_on, on) >= on,
                )
            )
            .order_by(t.contracts.c.starts_on.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def sla_term(self, contract_id: uuid.UUID, priority: str) -> SlaTerm | None:
        row = (await self.session.execute(
            select(t.sla_terms).where(t.sla_terms.c.contract_id == contract_id, t.sla_terms.c.priority == priority)
        )).first()
        return _term(row) if row else None
