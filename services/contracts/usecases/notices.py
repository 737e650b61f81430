"""Notices for contract managers, from the periodic sweep: contracts ending soon, visits overdue.

What was announced is remembered on the contract and changed with a conditional update, so a re-run,
an overlapping manual run or another replica never writes the same notice to the outbox twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.db.tables import messaging
from services.contracts.domain.notices import ending_soon_days_left, overdue_is_news
from shared.events.contracts import ContractEndingSoon, VisitsOverdue
from shared.messaging import add_event


@dataclass
class NoticeSummary:
    ending_soon: int = 0
    visits_overdue: int = 0


async def announce_contract_notices(session: AsyncSession, now: datetime, ending_notice_days: int) -> NoticeSummary:
    summary = NoticeSummary()
    repo = Repositories(session)
    # a day's slack covers every time zone's "today"; the exact count is taken in the contract's own zone
    last_day = (now + timedelta(days=ending_notice_days + 1)).date()
    for contract in await repo.contracts.contracts_ending_by(last_day):
        today = now.astimezone(ZoneInfo(contract.timezone)).date()
        days_left = ending_soon_days_left(contract.ends_on, today, ending_notice_days, contract.ending_announced_for)
        if days_left is None or not await repo.contracts.mark_ending_announced(contract.id, contract.ends_on):
            continue
        await add_event(
            session,
            messaging,
            ContractEndingSoon(
                contract_id=contract.id,
                customer_id=contract.customer_id,
                ends_on=contract.ends_on.isoformat(),
                days_left=days_left,
            ),
            occurred_at=now,
        )
        summary.ending_soon += 1
    for change in await repo.contracts.overdue_changes(now):
        if not await repo.contracts.set_overdue_announced(change.contract_id, change.announced, change.overdue):
            continue
        if overdue_is_news(change.overdue, change.announced) and change.oldest_due_on is not None:
            await add_event(
                session,
                messaging,
                VisitsOverdue(
                    contract_id=change.contract_id,
                    customer_id=change.customer_id,
                    overdue_count=change.overdue,
                    oldest_due_on=change.oldest_due_on.isoformat(),
                ),
                occurred_at=now,
            )
            summary.visits_overdue += 1
    return summary
