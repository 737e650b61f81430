"""The periodic visit sweep: expire ended contracts, roll every active contract's visits forward, and tell
contract managers about contracts ending soon and visits overdue; beside it, the release of quota reserved
for requests never filed.

Safe with several replicas: a session advisory lock lets one sweep at a time, and each contract is
regenerated in its own transaction under its own lock, so a manager's run and the sweep never collide.
These are jobs rather than single use cases: each contract is its own unit of work, so `generate_all` and
`sweep_once` open their transactions themselves, as the loops below do (they are the boundary).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.locks import session_lock
from services.contracts.db.repositories import Repositories
from services.contracts.domain.notices import DEFAULT_ENDING_NOTICE_DAYS
from services.contracts.settings import Settings
from services.contracts.usecases.contracting import end_contract
from services.contracts.usecases.entitlement import release_unconfirmed_reservations
from services.contracts.usecases.notices import NoticeSummary, announce_contract_notices
from services.contracts.usecases.visits import GenerationSummary, regenerate_visits
from shared.db import Database
from shared.service import Runtime

log = logging.getLogger(__name__)

_SWEEP_LOCK = "contracts:visit-sweep"


async def expire_ended_contracts(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """Mark live contracts whose last day has passed as expired; their remaining visits are cancelled."""
    expired = await Repositories(session).contracts.contracts_past_end(now)
    for contract_id in expired:
        await end_contract(session, contract_id, "expired", now=now)
    return expired


async def generate_all(db: Database, now: datetime, horizon_days: int) -> GenerationSummary:
    """Expire ended contracts, then regenerate every active contract's visits, one transaction each."""
    summary = GenerationSummary()
    async with db.transaction() as session:
        summary.expired = len(await expire_ended_contracts(session, now))
    async with db.transaction() as session:
        contract_ids = await Repositories(session).contracts.contract_ids(("active",))
    for contract_id in contract_ids:
        try:
            async with db.transaction() as session:
                summary.add(await regenerate_visits(session, contract_id, now, horizon_days))
        except Exception:
            log.exception("visit generation failed for contract %s", contract_id)
    return summary


@dataclass(frozen=True)
class SweepSummary:
    visits: GenerationSummary
    notices: NoticeSummary


async def sweep_once(
    db: Database, horizon_days: int, now: datetime, *, ending_notice_days: int = DEFAULT_ENDING_NOTICE_DAYS
) -> SweepSummary | None:
    """One sweep if no other replica is sweeping right now (None if one is): visits, then managers' notices."""
    async with session_lock(db.engine, _SWEEP_LOCK) as got:
        if not got:
            return None
        visits = await generate_all(db, now, horizon_days)
        async with db.transaction() as session:
            notices = await announce_contract_notices(session, now, ending_notice_days)
        if notices.ending_soon or notices.visits_overdue:
            log.info("contract notices: %s", notices)
        return SweepSummary(visits, notices)


@contextlib.asynccontextmanager
async def visit_sweep(runtime: Runtime) -> AsyncIterator[None]:
    """Sweep at start and then every `visit_sweep_interval_s` (0 turns the loop off)."""
    settings = runtime.settings
    assert isinstance(settings, Settings)  # create_app takes the contracts settings
    interval = settings.visit_sweep_interval_s
    horizon = settings.visit_horizon_days
    notice_days = settings.contract_ending_notice_days

    async def sweep() -> None:
        summary = await sweep_once(runtime.db, horizon, runtime.clock.now(), ending_notice_days=notice_days)
        if summary is not None:
            log.info("visit sweep: %s", summary.visits)

    runtime.every(interval, "visit sweep", sweep)
    yield


@contextlib.asynccontextmanager
async def reservation_release(runtime: Runtime) -> AsyncIterator[None]:
    """Every `quota_release_interval_s` (0 turns it off), release reservations unconfirmed past their TTL."""
    settings = runtime.settings
    assert isinstance(settings, Settings)  # create_app takes the contracts settings
    interval = settings.quota_release_interval_s
    ttl = timedelta(seconds=settings.quota_reservation_ttl_s)

    async def release() -> None:
        async with runtime.db.transaction() as session:
            released = await release_unconfirmed_reservations(session, runtime.clock.now(), ttl)
        if released:
            log.info("released %d quota reservations of requests never filed", released)

    runtime.every(interval, "quota reservation release", release)
    yield
