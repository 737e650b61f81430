"""The customer portal's estate: my sites and units, the cover each has now and the next planned visit.

An allow-list of what a customer reads of its own contracts (SLA per priority, business hours or round the
clock, quotas used and left); prices, skills, criticality and internal references stay in the staff views.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Query

from services.contracts.api.deps import AppClock, Caller, Session
from services.contracts.api.schemas import (
    CoverContractOut,
    CoverQuotaOut,
    CoverSlaOut,
    CoverUnitOut,
    CoverVisitOut,
    CustomerCoverOut,
    CustomerSiteCoverOut,
    PastVisitOut,
)
from services.contracts.domain.visits import VisitRow
from services.contracts.usecases.cover import ContractCover, customer_cover, past_visits
from shared.auth import Principal, Role
from shared.errors import InvalidInput, NotFound
from shared.events.common import GeoPoint
from shared.pagination import MAX_LIMIT, Paging

router = APIRouter(prefix="/customer", tags=["customer portal"])


def _visit(visit: VisitRow | None) -> CoverVisitOut | None:
    if visit is None:
        return None
    return CoverVisitOut(due_on=visit.due_on, window_start=visit.window_start, window_end=visit.window_end)


def _contract(cover: ContractCover) -> CoverContractOut:
    terms = cover.contract.terms
    return CoverContractOut(
        id=cover.contract.id,
        contract_type=terms.contract_type,
        status=cover.contract.status,
        starts_on=terms.starts_on,
        ends_on=terms.ends_on,
        timezone=terms.timezone,
        round_the_clock=terms.business_hours is None,
        sla=[
            CoverSlaOut(priority=s.priority, response_minutes=s.response_minutes, fix_minutes=s.fix_minutes)
            for s in sorted(terms.sla, key=lambda s: s.priority)
        ],
        quotas=[
            CoverQuotaOut(
                request_kind=use.quota.request_kind,
                period=use.quota.period,
                included=use.quota.included,
                used=use.used,
                left=use.left,
                period_ends_on=end,
            )
            for use, _first, end in cover.quotas
        ],
    )


def _whose(principal: Principal, customer_id: uuid.UUID | None) -> uuid.UUID:
    """A customer reads its own (whatever it names); staff name the customer."""
    if principal.role is Role.CUSTOMER and principal.customer_id is not None:
        return principal.customer_id
    if principal.is_staff and customer_id is not None:
        return customer_id
    if principal.is_staff:
        raise InvalidInput("customer_id", "staff must name the customer")
    raise NotFound("customer not found")


@router.get(
    "/cover",
    response_model=CustomerCoverOut,
    summary="My sites and units with the contract cover each has now and the next planned visit",
    description="A customer reads its own; staff name the customer (`customer_id`). Sites come in pages "
    "(`limit`, `offset`), with the contracts that serve the page's sites.",
)
async def my_cover(
    session: Session,
    clock: AppClock,
    principal: Caller,
    page: Paging,
    customer_id: uuid.UUID | None = Query(None, description="staff only: whose cover"),
) -> CustomerCoverOut:
    cover = await customer_cover(session, _whose(principal, customer_id), clock.now(), page)
    return CustomerCoverOut(
        sites=[
            CustomerSiteCoverOut(
                id=s.site.id,
                name=s.site.name,
                address=s.site.address,
                location=GeoPoint(lat=s.site.lat, lon=s.site.lon),
                contract_id=s.contract_id,
                next_visit=_visit(s.next_visit),
                equipment=[
                    CoverUnitOut(
                        id=u.unit.id,
                        equipment_type=u.unit.equipment_type,
                        model=u.unit.model,
                        serial=u.unit.serial,
                        installed_on=u.unit.installed_on,
                        warranty_ends_on=u.unit.warranty_ends_on,
                        contract_id=u.contract_id,
                        next_visit=_visit(u.next_visit),
                    )
                    for u in s.units
                ],
            )
            for s in cover.sites
        ],
        contracts=[_contract(c) for c in cover.contracts],
    )


@router.get(
    "/visits",
    response_model=list[PastVisitOut],
    summary="My planned visits that took place (done or failed), newest first",
    description="Within the last `days` days. Each visit's id is also the id dispatch booked it under: "
    "its completion report is dispatch's `/customer/requests/{id}/visit`.",
)
async def my_past_visits(
    session: Session,
    clock: AppClock,
    principal: Caller,
    customer_id: uuid.UUID | None = Query(None, description="staff only: whose visits"),
    days: int = Query(365, ge=1, le=3 * 365),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
) -> list[PastVisitOut]:
    now = clock.now()
    visits = await past_visits(session, _whose(principal, customer_id), now, now - timedelta(days=days), limit)
    return [
        PastVisitOut(
            id=v.id,
            site_id=v.site_id,
            equipment_ids=list(v.equipment_ids),
            due_on=v.due_on,
            window_start=v.window_start,
            window_end=v.window_end,
            status=v.status,
        )
        for v in visits
    ]
