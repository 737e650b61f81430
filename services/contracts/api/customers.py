"""Customers, their sites and equipment, and the service territories sites fall in."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Depends, status
from sqlalchemy.exc import DBAPIError

from services.contracts.api.deps import (
    app_clock,
    database,
    managers,
    skill_needs,
    skills,
    visible,
    weekly_hours,
    weekly_hours_out,
)
from services.contracts.api.schemas import (
    CustomerIn,
    CustomerOut,
    EquipmentIn,
    EquipmentOut,
    ServiceHistoryEntry,
    SiteIn,
    SiteOut,
    SitePatch,
    TerritoryIn,
    TerritoryOut,
    TerritoryRef,
)
from services.contracts.db.repository import (
    ContractsRepository,
    EquipmentRow,
    SiteRow,
    hours_from_json,
    hours_to_json,
)
from services.contracts.sites import change_site
from shared.auth import Principal, Role, current_principal, ensure_customer_access, require_roles
from shared.clock import Clock
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.common import GeoPoint

router = APIRouter(tags=["customers, sites and equipment"])
staff = require_roles(Role.CONTRACT_MANAGER, Role.DISPATCHER)


def site_out(site: SiteRow) -> SiteOut:
    territory = TerritoryRef(id=site.territory_id, name=site.territory_name or "") if site.territory_id else None
    return SiteOut(id=site.id, customer_id=site.customer_id, name=site.name, address=site.address,
                   location=GeoPoint(lat=site.lat, lon=site.lon), external_ref=site.external_ref,
                   access_hours=weekly_hours_out(hours_from_json(site.access_hours)), territory=territory,
                   contact_name=site.contact_name, contact_phone=site.contact_phone)


def equipment_out(unit: EquipmentRow) -> EquipmentOut:
    return EquipmentOut(
        id=unit.id, site_id=unit.site_id, customer_id=unit.customer_id, equipment_type=unit.equipment_type,
        model=unit.model, serial=unit.serial, installed_on=unit.installed_on, warranty_ends_on=unit.warranty_ends_on,
        required_skills=skill_needs(unit.required_skills),
        criticality=unit.criticality)


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(body: CustomerIn, db: Database = Depends(database),
                          _: Principal = Depends(managers)) -> CustomerOut:
    customer_id = uuid.uuid4()
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        if body.external_ref and await repo.customer_ref_taken(body.external_ref):
            raise InvalidInput("external_ref", "another customer has this reference")
        await repo.add_customer(customer_id, body.name, body.external_ref)
    return CustomerOut(id=customer_id, name=body.name, external_ref=body.external_ref)


@router.get("/customers", response_model=list[CustomerOut], summary="Customers (a customer sees only itself)")
async def list_customers(db: Database = Depends(database),
                         principal: Principal = Depends(current_principal)) -> list[CustomerOut]:
    if not principal.is_staff and principal.role is not Role.CUSTOMER:
        return []
    only = None if principal.is_staff else principal.customer_id
    async with db.transaction() as session:
        return [CustomerOut(**c) for c in await ContractsRepository(session).list_customers(only)]


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, db: Database = Depends(database),
                       principal: Principal = Depends(current_principal)) -> CustomerOut:
    ensure_customer_access(principal, customer_id, "customer")
    async with db.transaction() as session:
        customer = await ContractsRepository(session).get_customer(customer_id)
    if customer is None:
        raise NotFound("customer not found")
    return CustomerOut(id=customer["id"], name=customer["name"], external_ref=customer["external_ref"])


@router.post("/territories", status_code=status.HTTP_201_CREATED, response_model=TerritoryOut)
async def create_territory(body: TerritoryIn, db: Database = Depends(database),
                           _: Principal = Depends(managers)) -> TerritoryOut:
    territory_id = uuid.uuid4()
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        if await repo.territory_name_taken(body.name):
            raise Conflict(f"a territory named {body.name!r} exists")
        if body.area.get("type") not in ("Polygon", "MultiPolygon") or "coordinates" not in body.area:
            raise InvalidInput("area", "must be a GeoJSON Polygon or MultiPolygon")
        try:
            problem = await repo.add_territory(territory_id, body.name, json.dumps(body.area))
        except DBAPIError:  # PostGIS refuses coordinates that make no geometry
            problem = "not a readable GeoJSON geometry"
        if problem is not None:
            raise InvalidInput("area", problem)
    return TerritoryOut(id=territory_id, name=body.name, area=body.area)


@router.get("/territories", response_model=list[TerritoryOut])
async def list_territories(db: Database = Depends(database), _: Principal = Depends(staff)) -> list[TerritoryOut]:
    async with db.transaction() as session:
        rows = await ContractsRepository(session).list_territories()
    return [TerritoryOut(id=r["id"], name=r["name"], area=json.loads(r["area"])) for r in rows]


@router.post("/customers/{customer_id}/sites", status_code=status.HTTP_201_CREATED, response_model=SiteOut)
async def create_site(customer_id: uuid.UUID, body: SiteIn, db: Database = Depends(database),
                      _: Principal = Depends(managers)) -> SiteOut:
    access_hours = weekly_hours("access_hours", body.access_hours)
    site = SiteRow(id=uuid.uuid4(), customer_id=customer_id, name=body.name, address=body.address,
                   lat=body.location.lat, lon=body.location.lon, external_ref=body.external_ref,
                   access_hours=hours_to_json(access_hours), contact_name=body.contact_name,
                   contact_phone=body.contact_phone)
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        if await repo.get_customer(customer_id) is None:
            raise NotFound("customer not found")
        if body.external_ref and await repo.site_ref_taken(body.external_ref):
            raise InvalidInput("external_ref", "another site has this reference")
        await repo.add_site(site)
        stored = await repo.get_site(site.id)
    assert stored is not None
    return site_out(stored)


@router.get("/customers/{customer_id}/sites", response_model=list[SiteOut])
async def list_sites(customer_id: uuid.UUID, db: Database = Depends(database),
                     principal: Principal = Depends(current_principal)) -> list[SiteOut]:
    ensure_customer_access(principal, customer_id, "customer")
    async with db.transaction() as session:
        return [site_out(s) for s in await ContractsRepository(session).list_sites(customer_id)]


@router.get("/sites/{site_id}", response_model=SiteOut)
async def get_site(site_id: uuid.UUID, db: Database = Depends(database),
                   principal: Principal = Depends(current_principal)) -> SiteOut:
    async with db.transaction() as session:
        site = await ContractsRepository(session).get_site(site_id)
    return site_out(visible(site, principal, "site"))


@router.patch("/sites/{site_id}", response_model=SiteOut,
              summary="Change a site's name, address, access hours or contact (its open visits are re-announced)")
async def patch_site(site_id: uuid.UUID, body: SitePatch, db: Database = Depends(database),
                     _: Principal = Depends(managers),
        clock: Clock = Depends(app_clock)) -> SiteOut:
    changes = body.model_dump(include=body.model_fields_set - {"access_hours"})
    if "access_hours" in body.model_fields_set:
        changes["access_hours"] = hours_to_json(weekly_hours("access_hours", body.access_hours))
    return site_out(await change_site(db, site_id, changes, clock.now()))


@router.post("/sites/{site_id}/equipment", status_code=status.HTTP_201_CREATED, response_model=EquipmentOut)
async def create_equipment(site_id: uuid.UUID, body: EquipmentIn, db: Database = Depends(database),
                           _: Principal = Depends(managers)) -> EquipmentOut:
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        site = await repo.get_site(site_id)
        if site is None:
            raise NotFound("site not found")
        if await repo.serial_taken(body.model, body.serial):
            raise InvalidInput("serial", f"a {body.model} with this serial exists")
        unit = EquipmentRow(
            id=uuid.uuid4(), site_id=site_id, customer_id=site.customer_id, equipment_type=body.equipment_type,
            model=body.model, serial=body.serial, installed_on=body.installed_on,
            warranty_ends_on=body.warranty_ends_on,
            required_skills=skills(body.required_skills),
            criticality=body.criticality)
        await repo.add_equipment(unit)
    return equipment_out(unit)


@router.get("/sites/{site_id}/equipment", response_model=list[EquipmentOut])
async def list_equipment(site_id: uuid.UUID, db: Database = Depends(database),
                         principal: Principal = Depends(current_principal)) -> list[EquipmentOut]:
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        visible(await repo.get_site(site_id), principal, "site")
        return [equipment_out(u) for u in await repo.list_equipment(site_id)]


@router.get("/equipment/{equipment_id}", response_model=EquipmentOut)
async def get_equipment(equipment_id: uuid.UUID, db: Database = Depends(database),
                        principal: Principal = Depends(current_principal)) -> EquipmentOut:
    async with db.transaction() as session:
        unit = await ContractsRepository(session).get_equipment(equipment_id)
    return equipment_out(visible(unit, principal, "equipment"))


@router.get("/equipment/{equipment_id}/history", response_model=list[ServiceHistoryEntry],
            summary="The unit's service history, from dispatch's assignment events")
async def equipment_history(equipment_id: uuid.UUID, db: Database = Depends(database),
                            principal: Principal = Depends(current_principal)) -> list[ServiceHistoryEntry]:
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        visible(await repo.get_equipment(equipment_id), principal, "equipment")
        rows = await repo.equipment_history(equipment_id)
    return [ServiceHistoryEntry(**r) for r in rows]
