"""Customers, their sites and equipment, and the service territories sites fall in."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, status

from services.contracts.api.deps import (
    AppClock,
    Caller,
    Manager,
    Owned,
    Session,
    Staff,
    skill_needs,
    skills,
    visible,
    weekly_hours,
    weekly_hours_out,
)
from services.contracts.api.schemas import (
    CustomerIn,
    CustomerOut,
    EquipmentBulkEdit,
    EquipmentBulkEdited,
    EquipmentIn,
    EquipmentOut,
    ServiceHistoryEntry,
    SiteIn,
    SiteOut,
    SitePatch,
    TerritoryIn,
    TerritoryOut,
    TerritoryPatch,
    TerritoryRef,
)
from services.contracts.domain.calendar import hours_from_json, hours_to_json
from services.contracts.domain.estate import EquipmentRow, SiteRow
from services.contracts.usecases import customers, sites
from shared.auth import Principal, Role, ensure_customer_access
from shared.events.common import GeoPoint
from shared.pagination import Paging

router = APIRouter(tags=["customers, sites and equipment"])


def site_out(site: SiteRow) -> SiteOut:
    territory = TerritoryRef(id=site.territory_id, name=site.territory_name or "") if site.territory_id else None
    return SiteOut(
        id=site.id,
        customer_id=site.customer_id,
        name=site.name,
        address=site.address,
        location=GeoPoint(lat=site.lat, lon=site.lon),
        external_ref=site.external_ref,
        access_hours=weekly_hours_out(hours_from_json(site.access_hours)),
        territory=territory,
        contact_name=site.contact_name,
        contact_phone=site.contact_phone,
    )


def equipment_out(unit: EquipmentRow) -> EquipmentOut:
    return EquipmentOut(
        id=unit.id,
        site_id=unit.site_id,
        customer_id=unit.customer_id,
        equipment_type=unit.equipment_type,
        model=unit.model,
        serial=unit.serial,
        installed_on=unit.installed_on,
        warranty_ends_on=unit.warranty_ends_on,
        required_skills=skill_needs(unit.required_skills),
        criticality=unit.criticality,
    )


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(body: CustomerIn, session: Session, _: Manager) -> CustomerOut:
    customer_id = await customers.create_customer(session, body.name, body.external_ref)
    return CustomerOut(id=customer_id, name=body.name, external_ref=body.external_ref)


@router.get("/customers", response_model=list[CustomerOut], summary="Customers (a customer sees only itself)")
async def list_customers(
    session: Session,
    principal: Caller,
    page: Paging,
    name: str | None = Query(None, max_length=200, description="only the customer with this exact name"),
    external_ref: str | None = Query(None, max_length=200, description="only the customer with this reference"),
    q: str | None = Query(None, max_length=200, description="name or reference contains this (any case)"),
) -> list[CustomerOut]:
    if not principal.is_staff and principal.role is not Role.CUSTOMER:
        return []
    only = None if principal.is_staff else principal.customer_id
    return [
        CustomerOut(id=c.id, name=c.name, external_ref=c.external_ref)
        for c in await customers.list_customers(session, only, page, name=name, external_ref=external_ref, search=q)
    ]


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, session: Session, principal: Caller) -> CustomerOut:
    ensure_customer_access(principal, customer_id, "customer")
    customer = await customers.get_customer(session, customer_id)
    return CustomerOut(id=customer.id, name=customer.name, external_ref=customer.external_ref)


@router.post("/territories", status_code=status.HTTP_201_CREATED, response_model=TerritoryOut)
async def create_territory(body: TerritoryIn, session: Session, _: Manager) -> TerritoryOut:
    territory_id = await customers.create_territory(session, body.name, body.area)
    return TerritoryOut(id=territory_id, name=body.name, area=body.area)


@router.get("/territories", response_model=list[TerritoryOut])
async def list_territories(session: Session, _: Staff, page: Paging) -> list[TerritoryOut]:
    rows = page.window(await customers.list_territories(session))
    return [TerritoryOut(id=r.id, name=r.name, area=r.area) for r in rows]


@router.patch(
    "/territories/{territory_id}",
    response_model=TerritoryOut,
    summary="Rename or redraw a territory (sites fall in whichever territory covers them)",
)
async def change_territory(territory_id: uuid.UUID, body: TerritoryPatch, session: Session, _: Manager) -> TerritoryOut:
    changed = await customers.change_territory(session, territory_id, body.name, body.area)
    return TerritoryOut(id=changed.id, name=changed.name, area=changed.area)


@router.post("/customers/{customer_id}/sites", status_code=status.HTTP_201_CREATED, response_model=SiteOut)
async def create_site(customer_id: uuid.UUID, body: SiteIn, session: Session, _: Manager) -> SiteOut:
    access_hours = weekly_hours("access_hours", body.access_hours)
    site = SiteRow(
        id=uuid.uuid4(),
        customer_id=customer_id,
        name=body.name,
        address=body.address,
        lat=body.location.lat,
        lon=body.location.lon,
        external_ref=body.external_ref,
        access_hours=hours_to_json(access_hours),
        contact_name=body.contact_name,
        contact_phone=body.contact_phone,
    )
    return site_out(await sites.create_site(session, site))


@router.get("/customers/{customer_id}/sites", response_model=list[SiteOut])
async def list_sites(customer_id: uuid.UUID, session: Session, principal: Caller, page: Paging) -> list[SiteOut]:
    ensure_customer_access(principal, customer_id, "customer")
    return [site_out(s) for s in page.window(await sites.list_sites(session, customer_id))]


@router.get("/sites", response_model=list[SiteOut], summary="Every customer's sites, searched and paged (staff)")
async def search_sites(
    session: Session,
    _: Staff,
    page: Paging,
    q: str | None = Query(None, max_length=200, description="name, address or reference contains this"),
    customer_id: uuid.UUID | None = None,
) -> list[SiteOut]:
    return [site_out(s) for s in await sites.search_sites(session, page, q, customer_id)]


async def _visible_on_site(
    session: Session, record: Owned | None, site_id: uuid.UUID, principal: Principal, what: str
) -> Owned:
    """`visible`, and a technician booked on a job at the site sees it too (their app's day shows the site's
    access hours, contact and units)."""
    if (
        record is not None
        and principal.role is Role.TECHNICIAN
        and principal.technician_id is not None
        and await sites.technician_serves_site(session, principal.technician_id, site_id)
    ):
        return record
    return visible(record, principal, what)


@router.get("/sites/{site_id}", response_model=SiteOut)
async def get_site(site_id: uuid.UUID, session: Session, principal: Caller) -> SiteOut:
    return site_out(
        await _visible_on_site(session, await sites.find_site(session, site_id), site_id, principal, "site")
    )


@router.patch(
    "/sites/{site_id}",
    response_model=SiteOut,
    summary="Change a site's name, address, access hours or contact (its open visits are re-announced)",
)
async def patch_site(site_id: uuid.UUID, body: SitePatch, session: Session, clock: AppClock, _: Manager) -> SiteOut:
    changes = body.model_dump(include=body.model_fields_set - {"access_hours"})
    if "access_hours" in body.model_fields_set:
        changes["access_hours"] = hours_to_json(weekly_hours("access_hours", body.access_hours))
    return site_out(await sites.change_site(session, site_id, changes, clock.now()))


@router.post("/sites/{site_id}/equipment", status_code=status.HTTP_201_CREATED, response_model=EquipmentOut)
async def create_equipment(site_id: uuid.UUID, body: EquipmentIn, session: Session, _: Manager) -> EquipmentOut:
    unit = await sites.add_equipment(
        session,
        site_id,
        equipment_type=body.equipment_type,
        model=body.model,
        serial=body.serial,
        installed_on=body.installed_on,
        warranty_ends_on=body.warranty_ends_on,
        required_skills=skills(body.required_skills),
        criticality=body.criticality,
    )
    return equipment_out(unit)


@router.get("/sites/{site_id}/equipment", response_model=list[EquipmentOut])
async def list_equipment(site_id: uuid.UUID, session: Session, principal: Caller, page: Paging) -> list[EquipmentOut]:
    site, units = await sites.site_equipment(session, site_id)
    await _visible_on_site(session, site, site_id, principal, "site")
    return [equipment_out(u) for u in page.window(units)]


@router.get("/equipment", response_model=list[EquipmentOut], summary="Every unit, searched and paged (staff)")
async def search_equipment(
    session: Session,
    _: Staff,
    page: Paging,
    q: str | None = Query(None, max_length=200, description="type, model or serial contains this"),
    customer_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
) -> list[EquipmentOut]:
    return [equipment_out(u) for u in await sites.search_equipment(session, page, q, customer_id, site_id)]


@router.patch(
    "/equipment",
    response_model=EquipmentBulkEdited,
    summary="Bulk edit: set the same type, criticality or skills on many units at once",
)
async def edit_equipment(body: EquipmentBulkEdit, session: Session, _: Manager) -> EquipmentBulkEdited:
    changes: dict[str, object] = {
        name: getattr(body.changes, name)
        for name in body.changes.model_fields_set
        if getattr(body.changes, name) is not None
    }
    if "required_skills" in changes:
        changes["required_skills"] = skills(body.changes.required_skills or [])
    return EquipmentBulkEdited(updated=await sites.edit_equipment(session, body.equipment_ids, changes))


@router.get("/equipment/{equipment_id}", response_model=EquipmentOut)
async def get_equipment(equipment_id: uuid.UUID, session: Session, principal: Caller) -> EquipmentOut:
    unit = await sites.find_equipment(session, equipment_id)
    return equipment_out(
        await _visible_on_site(session, unit, unit.site_id if unit else equipment_id, principal, "equipment")
    )


@router.get(
    "/equipment/{equipment_id}/history",
    response_model=list[ServiceHistoryEntry],
    summary="The unit's service history, from dispatch's assignment events",
)
async def equipment_history(
    equipment_id: uuid.UUID, session: Session, principal: Caller, page: Paging
) -> list[ServiceHistoryEntry]:
    unit, rows = await sites.equipment_history(session, equipment_id)
    await _visible_on_site(session, unit, unit.site_id if unit else equipment_id, principal, "equipment")
    rows = page.window(rows)
    staff = principal.role is not Role.CUSTOMER  # a customer reads what happened, not who of the staff did it
    return [
        ServiceHistoryEntry(
            request_id=r.request_id,
            kind=r.kind,
            assignment_id=r.assignment_id if staff else None,
            technician_id=r.technician_id if staff else None,
            status=r.status,
            at=r.at,
            outcome=r.outcome,
        )
        for r in rows
    ]
