"""A customer's own estate with its contract cover, for the customer portal: each site and unit, the contract
that serves it now (SLA per priority, quotas used and left), and the next planned visit. A read: nothing changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.contract import ContractRecord
from services.contracts.domain.estate import EquipmentRow, SiteRow
from services.contracts.domain.lifecycle import TYPE_PREFERENCE
from services.contracts.domain.quota import QuotaUse
from services.contracts.domain.visits import VisitRow
from services.contracts.usecases.health import quota_uses
from shared.pagination import Page

# a visit not yet done, failed or cancelled is still ahead of the customer
VISITS_AHEAD = ("planned", "assigned", "in_progress")


@dataclass(frozen=True)
class UnitCover:
    unit: EquipmentRow
    contract_id: uuid.UUID | None
    next_visit: VisitRow | None


@dataclass(frozen=True)
class SiteCover:
    site: SiteRow
    contract_id: uuid.UUID | None
    next_visit: VisitRow | None
    units: list[UnitCover]


@dataclass(frozen=True)
class ContractCover:
    contract: ContractRecord
    quotas: list[tuple[QuotaUse, date, date | None]]


@dataclass(frozen=True)
class CustomerCover:
    sites: list[SiteCover]
    contracts: list[ContractCover]


def next_visit(visits: list[VisitRow], site_id: uuid.UUID, unit_id: uuid.UUID | None) -> VisitRow | None:
    """The earliest visit ahead at the site (for a unit: one that names it, or the whole site's)."""
    for visit in visits:  # in due order
        if visit.site_id != site_id:
            continue
        if unit_id is None or not visit.equipment_ids or unit_id in visit.equipment_ids:
            return visit
    return None


async def customer_cover(session: AsyncSession, customer_id: uuid.UUID, now: datetime, page: Page) -> CustomerCover:
    """The cover of this page of the customer's sites (in the sites' order) and of the contracts serving them."""
    repo = Repositories(session)
    contracts: dict[uuid.UUID, ContractRecord] = {}
    visits: dict[uuid.UUID, list[VisitRow]] = {}

    async def serving(site_id: uuid.UUID, unit_id: uuid.UUID | None) -> uuid.UUID | None:
        found = await repo.contracts.covering_contracts(site_id, unit_id, now)
        if not found:
            return None
        contract_id, _ = min(found, key=lambda c: TYPE_PREFERENCE.index(c[1]) if c[1] in TYPE_PREFERENCE else 99)
        if contract_id not in contracts:
            contract = await repo.contracts.get_contract(contract_id)
            if contract is None or contract.customer_id != customer_id:
                return None
            contracts[contract_id] = contract
            ahead = await repo.visits.list_visits(contract_id, now, None, None)
            visits[contract_id] = [v for v in ahead if v.status in VISITS_AHEAD]
        return contract_id

    sites = []
    for site in page.window(await repo.sites.list_sites(customer_id)):
        site_contract = await serving(site.id, None)
        units = []
        for unit in await repo.sites.list_equipment(site.id):
            unit_contract = await serving(site.id, unit.id)
            ahead = visits.get(unit_contract, []) if unit_contract else []
            units.append(UnitCover(unit, unit_contract, next_visit(ahead, site.id, unit.id)))
        ahead = visits.get(site_contract, []) if site_contract else []
        sites.append(SiteCover(site, site_contract, next_visit(ahead, site.id, None), units))
    covers = [ContractCover(c, await quota_uses(repo, c, now)) for c in contracts.values()]
    return CustomerCover(sites, covers)


# the visits a customer's history lists: the ones that happened, done or not
VISITS_PAST = ("done", "failed")


async def past_visits(
    session: AsyncSession, customer_id: uuid.UUID, now: datetime, since: datetime, limit: int
) -> list[VisitRow]:
    """The customer's planned visits that took place since `since`, newest first (through its contracts' index)."""
    repo = Repositories(session)
    found: list[VisitRow] = []
    for contract in await repo.contracts.list_contracts(customer_id, None):
        for status in VISITS_PAST:
            found += await repo.visits.list_visits(contract.id, since, now, status)
    found.sort(key=lambda v: (v.due_at, v.id), reverse=True)
    return found[:limit]
