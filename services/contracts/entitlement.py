"""The entitlement answer, for the requests service over NATS and for people over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.contracts.db.repository import ContractsRepository
from services.contracts.domain.sla import deadlines_24x7, default_priority
from shared.db import Database
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery, SiteFacts
from shared.messaging import rpc
from shared.service import Runtime


async def check_entitlement(db: Database, query: EntitlementQuery) -> EntitlementAnswer:
    async with db.transaction() as session:
        repo = ContractsRepository(session)
        site = await repo.get_site(query.site_id)
        if site is None:
            return EntitlementAnswer(found=False, reason="unknown site")
        facts = SiteFacts(site_id=site.id, customer_id=site.customer_id, name=site.name, address=site.address,
                          location=GeoPoint(lat=site.lat, lon=site.lon))
        priority = query.priority or default_priority(query.kind)
        contract_id = await repo.active_contract_for_site(site.id, query.at.date())
        if contract_id is None:
            return EntitlementAnswer(found=True, site=facts, covered=False, priority=priority,
                                     reason="no active contract covers this site")
        term = await repo.sla_term(contract_id, priority)
        if term is None:
            return EntitlementAnswer(found=True, site=facts, covered=True, contract_id=contract_id,
                                     priority=priority, reason=f"contract has no SLA for {priority}")
        deadlines = deadlines_24x7(term, query.at)
        return EntitlementAnswer(found=True, site=facts, covered=True, contract_id=contract_id, priority=priority,
                                 response_due=deadlines.response_due, fix_due=deadlines.fix_due,
                                 required_skills=[SkillNeed(skill=s, min_level=lvl) for s, lvl in term.required_skills])


@asynccontextmanager
async def entitlement_responder(runtime: Runtime) -> AsyncIterator[None]:
    async def _answer(query: EntitlementQuery) -> EntitlementAnswer:
        return await check_entitlement(runtime.db, query)

    subscription = await rpc.serve(runtime.nc, CHECK_ENTITLEMENT, "contracts-entitlement", EntitlementQuery, _answer)
    try:
        yield
    finally:
        await subscription.unsubscribe()
