"""HTTP API of the contracts service: thin routers over the repository and use cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request, status

from services.contracts.api.schemas import (
    ContractIn,
    ContractOut,
    CustomerIn,
    CustomerOut,
    SiteIn,
    SiteOut,
    SlaTermIn,
)
from services.contracts.db.repository import ContractsRepository, SiteRow
from services.contracts.db.tables import messaging
from services.contracts.domain.sla import SlaTerm
from services.contracts.entitlement import check_entitlement
from shared.auth import Principal, Role, current_principal, ensure_customer_access, require_roles
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound
from shared.events.common import GeoPoint, Priority, RequestKind, SkillNeed
from shared.events.contracts import ContractActivated, EntitlementAnswer, EntitlementQuery
from shared.messaging import add_event

router = APIRouter(tags=["contracts"])
managers = require_roles(Role.CONTRACT_MANAGER)


def _db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


def _site_out(site: SiteRow) -> SiteOut:
    return SiteOut(id=site.id, customer_id=site.customer_id, name=site.name, address=site.address,
                   location=GeoPoint(lat=site.lat, lon=site.lon))


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(body: CustomerIn, request: Request, _: Principal = Depends(managers)) -> CustomerOut:
    customer_id = uuid.uuid4()
    async with _db(request).transaction() as session:
        await ContractsRepository(session).add_customer(customer_id, body.name)
    return CustomerOut(id=customer_id, name=body.name)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, request: Request,
                       principal: Principal = Depends(current_principal)) -> CustomerOut:
    ensure_customer_access(principal, customer_id, "customer")
    async with _db(request).transaction() as session:
        customer = await ContractsRepository(session).get_customer(customer_id)
    if customer is None:
        raise NotFound("customer not found")
    return CustomerOut(id=customer["id"], name=customer["name"])


@router.post("/customers/{customer_id}/sites", status_code=status.HTTP_201_CREATED, response_model=SiteOut)
async def create_site(customer_id: uuid.UUID, body: SiteIn, request: Request,
                      _: Principal = Depends(managers)) -> SiteOut:
    site = SiteRow(id=uuid.uuid4(), customer_id=customer_id, name=body.name, address=body.address,
                   lat=body.location.lat, lon=body.location.lon)
    async with _db(request).transaction() as session:
        repo = ContractsRepository(session)
        if await repo.get_customer(customer_id) is None:
            raise NotFound("customer not found")
        await repo.add_site(site)
    return _site_out(site)


@router.get("/customers/{customer_id}/sites", response_model=list[SiteOut])
async def list_sites(customer_id: uuid.UUID, request: Request,
                     principal: Principal = Depends(current_principal)) -> list[SiteOut]:
    ensure_customer_access(principal, customer_id, "customer")
    async with _db(request).transaction() as session:
        return [_site_out(s) for s in await ContractsRepository(session).list_sites(customer_id)]


@router.get("/sites/{site_id}", response_model=SiteOut)
async def get_site(site_id: uuid.UUID, request: Request, principal: Principal = Depends(current_principal)) -> SiteOut:
    async with _db(request).transaction() as session:
        site = await ContractsRepository(session).get_site(site_id)
    if site is None:
        raise NotFound("site not found")
    ensure_customer_access(principal, site.customer_id, "site")
    return _site_out(site)


def _contract_out(contract: dict[str, object]) -> ContractOut:
    sla = contract.pop("sla")
    assert isinstance(sla, list)
    return ContractOut.model_validate(
        {**contract, "sla": [SlaTermIn(priority=t.priority, response_minutes=t.response_minutes,
                                       fix_minutes=t.fix_minutes,
                                       required_skills=[SkillNeed(skill=s, min_level=lvl)
                                                        for s, lvl in t.required_skills]) for t in sla]}
    )


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractOut)
async def create_contract(body: ContractIn, request: Request, _: Principal = Depends(managers)) -> ContractOut:
    contract_id = uuid.uuid4()
    async with _db(request).transaction() as session:
        repo = ContractsRepository(session)
        if await repo.get_customer(body.customer_id) is None:
            raise InvalidInput("customer_id", "no such customer")
        for index, site_id in enumerate(body.site_ids):
            site = await repo.get_site(site_id)
            if site is None or site.customer_id != body.customer_id:
                raise InvalidInput(f"site_ids.{index}", "no such site for this customer")
        await repo.add_contract(contract_id, body.customer_id, body.contract_type, body.starts_on, body.ends_on,
                                body.site_ids, [SlaTerm(t.priority, t.response_minutes, t.fix_minutes,
                                                        tuple((s.skill, s.min_level) for s in t.required_skills))
                                                for t in body.sla])
        contract = await repo.get_contract(contract_id)
    assert contract is not None
    return _contract_out(contract)


@router.get("/contracts/{contract_id}", response_model=ContractOut)
async def get_contract(contract_id: uuid.UUID, request: Request,
                       principal: Principal = Depends(current_principal)) -> ContractOut:
    async with _db(request).transaction() as session:
        contract = await ContractsRepository(session).get_contract(contract_id)
    if contract is None:
        raise NotFound("contract not found")
    ensure_customer_access(principal, contract["customer_id"], "contract")
    return _contract_out(contract)


@router.post("/contracts/{contract_id}/activate", response_model=ContractOut)
async def activate_contract(contract_id: uuid.UUID, request: Request,
                            _: Principal = Depends(managers)) -> ContractOut:
    async with _db(request).transaction() as session:
        repo = ContractsRepository(session)
        contract = await repo.get_contract(contract_id, for_update=True)
        if contract is None:
            raise NotFound("contract not found")
        if contract["status"] != "draft":
            raise Conflict(f"only a draft contract can be activated; this one is {contract['status']}")
        await repo.set_contract_status(contract_id, "active")
        await add_event(session, messaging, ContractActivated(
            contract_id=contract_id, customer_id=contract["customer_id"], contract_type=contract["contract_type"],
            starts_on=contract["starts_on"].isoformat(),
            ends_on=contract["ends_on"].isoformat() if contract["ends_on"] else None,
            site_ids=contract["site_ids"],
        ))
        contract["status"] = "active"
    return _contract_out(contract)


@router.get("/entitlement", response_model=EntitlementAnswer)
async def get_entitlement(request: Request, site_id: uuid.UUID, kind: RequestKind = "emergency",
                          priority: Priority | None = None, equipment_id: uuid.UUID | None = Query(None),
                          principal: Principal = Depends(current_principal)) -> EntitlementAnswer:
    answer = await check_entitlement(_db(request), EntitlementQuery(
        site_id=site_id, equipment_id=equipment_id, kind=kind, priority=priority, at=datetime.now(UTC)))
    if not answer.found or answer.site is None:
        raise NotFound("site not found")
    ensure_customer_access(principal, answer.site.customer_id, "site")
    return answer
