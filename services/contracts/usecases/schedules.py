"""Visit schedules of full-maintenance contracts (RFC 5545 RRULEs) and generating their visits on demand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.domain.contract import ContractRecord, ScheduleRow
from services.contracts.domain.lifecycle import ENDED_STATUSES
from services.contracts.domain.schedule import VisitRule, VisitWindow, next_occurrences, rrule_problem, visit_window
from services.contracts.domain.visits import VisitRow
from services.contracts.usecases.contracting import find_contract, live_contract
from services.contracts.usecases.visits import GenerationSummary, regenerate_visits
from shared.errors import Conflict, InvalidInput, NotFound
from shared.pagination import Page


async def _checked_schedule(repo: Repositories, contract: ContractRecord, schedule: ScheduleRow) -> None:
    if (problem := rrule_problem(schedule.rrule)) is not None:
        raise InvalidInput("rrule", problem)
    if contract.terms.contract_type != "full_maintenance":
        raise InvalidInput("contract_id", "planned visits come only with full maintenance contracts")
    if schedule.site_id not in contract.terms.site_ids:
        raise InvalidInput("site_id", "the contract does not cover this site")
    if schedule.equipment_id is not None:
        covered = await repo.schedules.covered_units_at(contract.id, schedule.site_id)
        if schedule.equipment_id not in covered:
            raise InvalidInput("equipment_id", "the contract does not cover this unit at this site")


async def add_schedule(
    session: AsyncSession,
    contract_id: uuid.UUID,
    *,
    site_id: uuid.UUID,
    equipment_id: uuid.UUID | None,
    rrule: str,
    first_on: date | None,
    visit_time: time,
    tolerance_days: int,
    duration_minutes: int,
    required_skills: tuple[tuple[str, int], ...],
    priority: str,
    now: datetime,
    horizon_days: int,
) -> ScheduleRow:
    """A new schedule (its first visit counted from the contract's start unless `first_on` says otherwise)."""
    repo = Repositories(session)
    contract = await live_contract(repo, contract_id)
    schedule = ScheduleRow(
        id=uuid.uuid4(),
        contract_id=contract_id,
        site_id=site_id,
        equipment_id=equipment_id,
        rrule=rrule,
        first_on=first_on or contract.terms.starts_on,
        visit_time=visit_time,
        tolerance_days=tolerance_days,
        duration_minutes=duration_minutes,
        required_skills=required_skills,
        priority=priority,
        active=True,
    )
    if contract.status in ENDED_STATUSES:
        raise Conflict(f"a {contract.status} contract takes no schedules")
    await _checked_schedule(repo, contract, schedule)
    await repo.schedules.add_schedule(schedule)
    if contract.status == "active":
        await regenerate_visits(session, contract.id, now, horizon_days, contract=contract)
    return schedule


async def change_schedule(
    session: AsyncSession, schedule_id: uuid.UUID, changes: dict[str, object], now: datetime, horizon_days: int
) -> ScheduleRow:
    """Rewrite (or retire, with active=False) a schedule; an active contract's visits follow at once."""
    repo = Repositories(session)
    current = await repo.schedules.get_schedule(schedule_id)
    if current is None:
        raise NotFound("schedule not found")
    contract = await live_contract(repo, current.contract_id)
    if contract.status in ENDED_STATUSES:
        raise Conflict(f"the schedules of a {contract.status} contract cannot change")
    schedule = replace(current, **changes)  # type: ignore[arg-type]
    await _checked_schedule(repo, contract, schedule)
    await repo.schedules.update_schedule(schedule)
    if contract.status == "active":
        await regenerate_visits(session, contract.id, now, horizon_days, contract=contract)
    return schedule


async def generate_visits_now(
    session: AsyncSession, contract_id: uuid.UUID, now: datetime, horizon_days: int
) -> GenerationSummary:
    await find_contract(session, contract_id)
    return await regenerate_visits(session, contract_id, now, horizon_days)


async def contract_schedules(session: AsyncSession, contract_id: uuid.UUID) -> tuple[ContractRecord, list[ScheduleRow]]:
    """The contract (NotFound if none) and its schedules, retired ones included."""
    contract = await find_contract(session, contract_id)
    return contract, await Repositories(session).schedules.list_schedules(contract_id)


async def contract_visits(
    session: AsyncSession, contract_id: uuid.UUID, since: datetime | None, until: datetime | None, status: str | None
) -> tuple[ContractRecord, list[VisitRow]]:
    """The contract (NotFound if none) and its visits whose window meets [since, until), of one status if given."""
    contract = await find_contract(session, contract_id)
    return contract, await Repositories(session).visits.list_visits(contract_id, since, until, status)


@dataclass(frozen=True)
class PreviewedVisit:
    due_at: datetime
    window: VisitWindow


def preview_schedule(
    rrule: str,
    *,
    first_on: date,
    visit_time: time,
    timezone: str,
    tolerance_days: int,
    now: datetime,
    count: int,
    period_ends_on: date | None = None,
) -> list[PreviewedVisit]:
    """The next `count` visits a schedule would call for from now (or its first day), with their windows;
    nothing is stored."""
    if (problem := rrule_problem(rrule)) is not None:
        raise InvalidInput("rrule", problem)
    try:
        ZoneInfo(timezone)
    except (ValueError, KeyError):
        raise InvalidInput("timezone", "not a known IANA time zone") from None
    rule = VisitRule(rrule, first_on, visit_time, timezone, tolerance_days)
    first_day = datetime.combine(first_on, time(0), tzinfo=ZoneInfo(timezone))
    found = next_occurrences(rule, max(now, first_day), count)
    if period_ends_on is not None:
        found = [at for at in found if at.astimezone(ZoneInfo(timezone)).date() <= period_ends_on]
    period = (first_on, period_ends_on)
    return [PreviewedVisit(at, visit_window(at, timezone, tolerance_days, period)) for at in found]


async def visit_calendar(
    session: AsyncSession,
    page: Page,
    since: datetime,
    until: datetime,
    status: str | None,
    customer_id: uuid.UUID | None,
    contract_id: uuid.UUID | None = None,
) -> list[tuple[VisitRow, str, str]]:
    """Every contract's visits due in [since, until), with the names a calendar shows."""
    if until <= since:
        raise InvalidInput("to", "must be after from")
    if until - since > timedelta(days=62):
        raise InvalidInput("to", "a calendar shows at most 62 days at once")
    return await Repositories(session).visits.calendar_visits(page, since, until, status, customer_id, contract_id)
