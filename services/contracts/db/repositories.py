"""Every repository of the contracts service on one session, for use cases that touch several aggregates."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.contracts import ContractsRepository
from services.contracts.db.customers import CustomersRepository
from services.contracts.db.quota import QuotaRepository
from services.contracts.db.schedules import SchedulesRepository
from services.contracts.db.service_jobs import ServiceJobsRepository
from services.contracts.db.sites import SitesRepository
from services.contracts.db.visits import VisitsRepository


class Repositories:
    """One repository per aggregate, all in the caller's session (its transaction is the unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.customers = CustomersRepository(session)
        self.sites = SitesRepository(session)
        self.contracts = ContractsRepository(session)
        self.schedules = SchedulesRepository(session)
        self.visits = VisitsRepository(session)
        self.quota = QuotaRepository(session)
        self.service_jobs = ServiceJobsRepository(session)

    async def lock(self, key: str) -> None:
        """Serialise one kind of work per key until the transaction ends (coverage checks, visit generation)."""
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
