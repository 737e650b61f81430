"""Customers and the service territories their sites fall in."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.estate import CustomerRecord, TerritoryRecord
from shared.errors import Conflict, InvalidInput, NotFound
from shared.pagination import Page


async def create_customer(session: AsyncSession, name: str, external_ref: str | None) -> uuid.UUID:
    repo = Repositories(session)
    if external_ref and await repo.customers.customer_ref_taken(external_ref):
        raise InvalidInput("external_ref", "another customer has this reference")
    customer_id = uuid.uuid4()
    await repo.customers.add_customer(customer_id, name, external_ref)
    return customer_id


async def list_customers(
    session: AsyncSession,
    only: uuid.UUID | None,
    page: Page,
    *,
    name: str | None = None,
    external_ref: str | None = None,
    search: str | None = None,
) -> list[CustomerRecord]:
    return await Repositories(session).customers.list_customers(
        only, page, name=name, external_ref=external_ref, search=search
    )


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> CustomerRecord:
    customer = await Repositories(session).customers.get_customer(customer_id)
    if customer is None:
        raise NotFound("customer not found")
    return customer


async def create_territory(session: AsyncSession, name: str, area: dict[str, Any]) -> uuid.UUID:
    """A named territory from a GeoJSON Polygon or MultiPolygon, refused naming `area` when it is unusable."""
    repo = Repositories(session)
    if await repo.customers.territory_name_taken(name):
        raise Conflict(f"a territory named {name!r} exists")
    if area.get("type") not in ("Polygon", "MultiPolygon") or "coordinates" not in area:
        raise InvalidInput("area", "must be a GeoJSON Polygon or MultiPolygon")
    territory_id = uuid.uuid4()
    problem = await repo.customers.add_territory(territory_id, name, area)
    if problem is not None:
        raise InvalidInput("area", problem)
    return territory_id


async def change_territory(
    session: AsyncSession, territory_id: uuid.UUID, name: str | None, area: dict[str, Any] | None
) -> TerritoryRecord:
    """Rename or redraw a territory; sites then fall in whichever territory covers them now."""
    repo = Repositories(session).customers
    if not await repo.territory_exists(territory_id):
        raise NotFound("territory not found")
    current = {r.id: r for r in await repo.list_territories()}
    if name is not None and name != current[territory_id].name and await repo.territory_name_taken(name):
        raise Conflict(f"a territory named {name!r} exists")
    if area is not None and (area.get("type") not in ("Polygon", "MultiPolygon") or "coordinates" not in area):
        raise InvalidInput("area", "must be a GeoJSON Polygon or MultiPolygon")
    problem = await repo.change_territory(territory_id, name, area)
    if problem is not None:
        raise InvalidInput("area", problem)
    return next(r for r in await repo.list_territories() if r.id == territory_id)


async def list_territories(session: AsyncSession) -> list[TerritoryRecord]:
    return await Repositories(session).customers.list_territories()
