"""A contract's health: visits due, done and overdue, SLA compliance and what its quotas have used."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.contract import ContractRecord, SlaCounts, VisitCounts
from services.contracts.domain.quota import QuotaUse, quota_period
from services.contracts.usecases.contracting import find_contract


@dataclass(frozen=True)
class ContractHealth:
    contract: ContractRecord
    visits: VisitCounts
    sla: SlaCounts
    quotas: list[tuple[QuotaUse, date, date | None]]


async def quota_uses(
    repo: Repositories, contract: ContractRecord, now: datetime, kind: str | None = None
) -> list[tuple[QuotaUse, date, date | None]]:
    """Each quota (or only `kind`'s) with what its current period has used so far."""
    zone = ZoneInfo(contract.terms.timezone)
    today = now.astimezone(zone).date()
    uses = []
    for quota in contract.terms.quotas:
        if kind is not None and quota.request_kind != kind:
            continue
        first, end = quota_period(quota.period, contract.terms.starts_on, today)
        since = datetime.combine(first, datetime.min.time(), tzinfo=zone)
        until = datetime.combine(end, datetime.min.time(), tzinfo=zone) if end else None
        used = await repo.quota.quota_used(contract.id, quota.request_kind, since, until)
        uses.append((QuotaUse(quota, used), first, end))
    return uses


async def contract_health(session: AsyncSession, contract_id: uuid.UUID, now: datetime) -> ContractHealth:
    repo = Repositories(session)
    contract = await find_contract(session, contract_id)
    return ContractHealth(
        contract=contract,
        visits=await repo.visits.visit_counts(contract_id, now),
        sla=await repo.service_jobs.sla_compliance(contract_id, now),
        quotas=await quota_uses(repo, contract, now),
    )
