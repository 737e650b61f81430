"""Customers and service territories."""

from __future__ import annotations

import json
import uuid
from typing import Any

from geoalchemy2.types import Geography, Geometry
from sqlalchemy import cast, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository, contains, searchable
from services.contracts.domain.estate import CustomerRecord, TerritoryRecord
from shared.pagination import Page


def _shape(geojson: dict[str, Any]) -> Any:
    return func.ST_SetSRID(func.ST_GeomFromGeoJSON(json.dumps(geojson)), 4326)


_CUSTOMER = select(t.customers.c.id, t.customers.c.name, t.customers.c.external_ref)


class CustomersRepository(Repository):
    """Customers and the territories their sites fall in."""

    async def add_customer(self, customer_id: uuid.UUID, name: str, external_ref: str | None = None) -> None:
        await self.session.execute(insert(t.customers).values(id=customer_id, name=name, external_ref=external_ref))

    async def get_customer(self, customer_id: uuid.UUID) -> CustomerRecord | None:
        row = (await self.session.execute(_CUSTOMER.where(t.customers.c.id == customer_id))).first()
        return CustomerRecord(**row._mapping) if row else None

    async def list_customers(
        self,
        only: uuid.UUID | None = None,
        page: Page | None = None,
        *,
        name: str | None = None,
        external_ref: str | None = None,
        search: str | None = None,
    ) -> list[CustomerRecord]:
        query = _CUSTOMER.order_by(t.customers.c.name, t.customers.c.id)
        if search:
            pattern = contains(search)
            query = query.where(searchable(t.customers).ilike(pattern))
        if only is not None:
            query = query.where(t.customers.c.id == only)
        if name is not None:
            query = query.where(t.customers.c.name == name)
        if external_ref is not None:
            query = query.where(t.customers.c.external_ref == external_ref)
        if page is not None:
            query = page.of(query)
        return [CustomerRecord(**r._mapping) for r in await self.session.execute(query)]

    async def customer_ref_taken(self, external_ref: str) -> bool:
        query = select(t.customers.c.id).where(t.customers.c.external_ref == external_ref)
        return (await self.session.execute(query)).first() is not None

    async def _shape_problem(self, shape: Any) -> str | None:
        """Why PostGIS finds the shape unusable as a territory, or None."""
        try:
            async with self.session.begin_nested():  # PostGIS refusing the coordinates leaves the transaction usable
                reason = (
                    await self.session.execute(select(func.ST_IsValidReason(shape), func.GeometryType(shape)))
                ).first()
        except DBAPIError:
            return "not a readable GeoJSON geometry"
        assert reason is not None
        if reason[1] not in ("POLYGON", "MULTIPOLYGON"):
            return "must be a Polygon or MultiPolygon"
        if reason[0] != "Valid Geometry":
            return str(reason[0])
        return None

    async def add_territory(self, territory_id: uuid.UUID, name: str, geojson: dict[str, Any]) -> str | None:
        """Store the territory; returns why the shape is unusable instead, if it is."""
        shape = _shape(geojson)
        if (problem := await self._shape_problem(shape)) is not None:
            return problem
        await self.session.execute(
            insert(t.territories).values(id=territory_id, name=name, area=cast(func.ST_Multi(shape), Geography))
        )
        return None

    async def change_territory(
        self, territory_id: uuid.UUID, name: str | None, geojson: dict[str, Any] | None
    ) -> str | None:
        """Rename or redraw a territory; returns why the new shape is unusable instead, if it is."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if geojson is not None:
            shape = _shape(geojson)
            if (problem := await self._shape_problem(shape)) is not None:
                return problem
            values["area"] = cast(func.ST_Multi(shape), Geography)
        if values:
            await self.session.execute(update(t.territories).where(t.territories.c.id == territory_id).values(**values))
        return None

    async def territory_exists(self, territory_id: uuid.UUID) -> bool:
        query = select(t.territories.c.id).where(t.territories.c.id == territory_id)
        return (await self.session.execute(query)).first() is not None

    async def territory_name_taken(self, name: str) -> bool:
        query = select(t.territories.c.id).where(t.territories.c.name == name)
        return (await self.session.execute(query)).first() is not None

    async def list_territories(self) -> list[TerritoryRecord]:
        rows = await self.session.execute(
            select(
                t.territories.c.id,
                t.territories.c.name,
                func.ST_AsGeoJSON(cast(t.territories.c.area, Geometry)).label("area"),
            ).order_by(t.territories.c.name)
        )
        return [TerritoryRecord(id=r.id, name=r.name, area=json.loads(r.area)) for r in rows]
