"""The entitlement answer, for the requests service over NATS (consumers.py) and for people over HTTP; quota
reservations and their release."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.contract import ContractRecord
from services.contracts.domain.lifecycle import SERVED_KINDS, TYPE_PREFERENCE, warranty_problem
from services.contracts.domain.quota import QuotaConsumption
from services.contracts.domain.sla import default_priority, merged_skills, money_terms, sla_deadlines
from services.contracts.usecases.health import quota_uses
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import EntitlementAnswer, EntitlementQuery, SiteFacts


async def check_entitlement(session: AsyncSession, query: EntitlementQuery) -> EntitlementAnswer:
    """Is the site (or unit) covered for this kind of request, by which contract, with which deadlines?"""
    repo = Repositories(session)
    site = await repo.sites.get_site(query.site_id)
    if site is None:
        return EntitlementAnswer(found=False, reason="unknown site")
    facts = SiteFacts(
        site_id=site.id,
        customer_id=site.customer_id,
        name=site.name,
        address=site.address,
        location=GeoPoint(lat=site.lat, lon=site.lon),
        contact_name=site.contact_name,
        contact_phone=site.contact_phone,
        territory_id=site.territory_id,
    )
    unit = await repo.sites.get_equipment(query.equipment_id) if query.equipment_id is not None else None
    if query.equipment_id is not None and (unit is None or unit.site_id != site.id):
        return EntitlementAnswer(
            found=True, site=facts, equipment_found=False, covered=False, reason="no such unit at this site"
        )
    criticality = unit.criticality if unit is not None else None
    unit_skills = unit.required_skills if unit is not None else ()
    priority = query.priority or default_priority(query.kind, criticality)
    uncovered = EntitlementAnswer(
        found=True, site=facts, covered=False, priority=priority, equipment_criticality=criticality
    )
    candidates = await repo.contracts.covering_contracts(site.id, query.equipment_id, query.at)
    warranty_ends_on = unit.warranty_ends_on if unit is not None else None
    warranty = {c: warranty_problem(c[1], unit is not None, warranty_ends_on, query.at.date()) for c in candidates}
    serving = sorted(
        (c for c in candidates if query.kind in SERVED_KINDS[c[1]] and warranty[c] is None),
        key=lambda c: TYPE_PREFERENCE.index(c[1]),
    )
    if not serving:
        what = "unit" if query.equipment_id else "site"
        lapsed = next((problem for problem in warranty.values() if problem), None)
        reason = (
            f"no active contract covers this {what}"
            if not candidates
            else lapsed or f"the active contract does not cover {query.kind} requests"
        )
        return uncovered.model_copy(update={"reason": reason})
    contract_id, contract_type = serving[0]
    contract = await repo.contracts.get_contract(contract_id)
    assert contract is not None
    held: QuotaConsumption | None = None
    quota_left: int | None
    if query.request_id is not None and query.customer_id in (None, site.customer_id):
        held = await reserve_quota(repo, contract, query.kind, query.request_id, query.at)
    if held is not None and held.quota_left is not None:
        quota_left, exceeded = held.quota_left, held.within_quota is False
    else:
        uses = await quota_uses(repo, contract, query.at, query.kind)
        quota_left = min((u.left for u, _, _ in uses), default=None)
        exceeded = any(u.exceeded for u, _, _ in uses)
    covered = EntitlementAnswer(
        found=True,
        site=facts,
        covered=True,
        contract_id=contract_id,
        contract_type=contract_type,
        priority=priority,
        equipment_criticality=criticality,
        quota_left=quota_left,
        quota_exceeded=exceeded,
        required_skills=[SkillNeed(skill=s, min_level=lvl) for s, lvl in unit_skills],
        reason="quota used up: the request is billable" if exceeded else "",
    )
    term = next((t for t in contract.terms.sla if t.priority == priority), None)
    if term is None:
        return covered.model_copy(update={"reason": f"contract has no SLA for {priority}"})
    deadlines = sla_deadlines(term, contract.calendar, query.at)
    skills = merged_skills(term.required_skills, unit_skills)
    return covered.model_copy(
        update={
            "response_due": deadlines.response_due,
            "fix_due": deadlines.fix_due,
            "required_skills": [SkillNeed(skill=s, min_level=lvl) for s, lvl in skills],
            **money_terms(term),
        }
    )


def _quota_lock(contract_id: uuid.UUID, kind: str) -> str:
    return f"contracts:quota:{contract_id}:{kind}"


async def reserve_quota(
    repo: Repositories, contract: ContractRecord, kind: str, request_id: uuid.UUID, at: datetime
) -> QuotaConsumption | None:
    """Count the request against the contract's quota for `kind`, once, and say what it was told.

    Counting and inserting happen under a lock per (contract, kind), so concurrent asks on any replica see
    each other's units; the request id is the key, so asking again returns the first answer and counts
    nothing more. None when the contract has no quota for `kind`. The reservation holds its unit until the
    request's created event confirms it, or until the sweep drops it as never filed.
    """
    await repo.lock(_quota_lock(contract.id, kind))
    held = await repo.quota.quota_consumption(request_id)
    if held is not None:
        return held
    # the terms as they are now, under the lock: share-locked so a manager's change waits for this count
    current = await repo.contracts.get_contract(contract.id, for_share=True)
    if current is None or not any(q.request_kind == kind for q in current.terms.quotas):
        return None
    [(use, _, _)] = await quota_uses(repo, current, at, kind)
    held = QuotaConsumption(
        request_id=request_id,
        contract_id=contract.id,
        request_kind=kind,
        counted_at=at,
        within_quota=not use.exceeded,
        quota_left=use.left,
    )
    await repo.quota.consume_quota(held)
    return held


async def count_filed_request(
    session: AsyncSession,
    request_id: uuid.UUID,
    contract_id: uuid.UUID,
    kind: str,
    filed_at: datetime,
    within_quota: bool,
) -> None:
    """A request filed under the contract counts against its quota once: its reservation, now confirmed, or
    (none, or dropped as unconfirmed before the event came) a new row."""
    repo = Repositories(session)
    await repo.lock(_quota_lock(contract_id, kind))
    await repo.quota.confirm_quota(
        QuotaConsumption(
            request_id=request_id,
            contract_id=contract_id,
            request_kind=kind,
            counted_at=filed_at,
            within_quota=within_quota,
            confirmed_at=filed_at,
        )
    )


async def release_unconfirmed_reservations(session: AsyncSession, now: datetime, ttl: timedelta) -> int:
    """Drop the reservations of requests never filed (asked for, then no created event within `ttl`).

    One statement, so replicas running it at once release each row once; a created event racing it either
    confirms the row first (kept) or finds it gone and counts the request anew.
    """
    return await Repositories(session).quota.drop_unconfirmed_reservations(now - ttl)
