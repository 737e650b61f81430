"""Contracts: writing them and their lifecycle (draft, active, suspended, terminated or expired).

Every use case works in the caller's session and never commits: the caller's transaction is the unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.db.tables import messaging
from services.contracts.domain.calendar import calendar_problem
from services.contracts.domain.contract import ContractRecord, ContractTerms
from services.contracts.domain.lifecycle import ENDED_STATUSES, ensure_transition, period_problem
from services.contracts.domain.visits import VisitRow
from services.contracts.usecases.visits import regenerate_visits
from shared.errors import Conflict, FieldProblem, InvalidInput, NotFound
from shared.events.contracts import ContractActivated, ContractChanged, ContractEnded
from shared.events.envelope import Event
from shared.messaging import add_event
from shared.pagination import Page


class CoverageConflict(Conflict):
    """Another live contract of the same type already covers one of these units or sites."""


async def _checked_terms(repo: Repositories, customer_id: uuid.UUID, terms: ContractTerms) -> None:
    if (problem := period_problem(terms.starts_on, terms.ends_on)) is not None:
        raise InvalidInput("ends_on", problem)
    try:
        ZoneInfo(terms.timezone)
    except (KeyError, ValueError):
        raise InvalidInput("timezone", f"unknown time zone {terms.timezone!r}") from None
    contract = ContractRecord(uuid.uuid4(), customer_id, "draft", terms, None, datetime.min, datetime.min)
    if (problem := calendar_problem(contract.calendar)) is not None:
        raise InvalidInput("business_hours", problem)
    sites = await repo.sites.sites_by_id(set(terms.site_ids))
    for index, site_id in enumerate(terms.site_ids):
        site = sites.get(site_id)
        if site is None or site.customer_id != customer_id:
            raise InvalidInput(f"site_ids.{index}", "no such site for this customer")
    units = await repo.sites.equipment_by_id(terms.equipment_ids)
    for index, equipment_id in enumerate(terms.equipment_ids):
        unit = units.get(equipment_id)
        if unit is None or unit.customer_id != customer_id:
            raise InvalidInput(f"equipment_ids.{index}", "no such unit for this customer")
        if unit.site_id not in sites:
            raise InvalidInput(f"equipment_ids.{index}", "the unit's site is not among site_ids")


async def _ensure_no_overlap(repo: Repositories, contract: ContractRecord) -> None:
    await repo.lock(f"contracts:coverage:{contract.customer_id}")
    conflicts = await repo.contracts.coverage_conflicts(contract.id)
    if conflicts:
        problems = []
        for c in conflicts:
            what = f"unit {c.equipment_id}" if c.equipment_id else f"site {c.site_id}"
            problems.append(
                FieldProblem(
                    "equipment_ids" if c.equipment_id else "site_ids",
                    f"{what} is already covered by contract {c.contract_id}",
                )
            )
        raise CoverageConflict(
            f"another active {contract.terms.contract_type} contract covers the same units in an overlapping period",
            problems=problems,
        )


async def create_contract(session: AsyncSession, customer_id: uuid.UUID, terms: ContractTerms) -> ContractRecord:
    contract_id = uuid.uuid4()
    repo = Repositories(session)
    if await repo.customers.get_customer(customer_id) is None:
        raise InvalidInput("customer_id", "no such customer")
    await _checked_terms(repo, customer_id, terms)
    await repo.contracts.add_contract(contract_id, customer_id, terms)
    contract = await repo.contracts.get_contract(contract_id)
    assert contract is not None
    return contract


async def find_contract(session: AsyncSession, contract_id: uuid.UUID) -> ContractRecord:
    """The contract, or NotFound."""
    contract = await Repositories(session).contracts.get_contract(contract_id)
    if contract is None:
        raise NotFound("contract not found")
    return contract


async def list_contracts(
    session: AsyncSession, customer_id: uuid.UUID | None, status: str | None, page: Page
) -> list[ContractRecord]:
    return await Repositories(session).contracts.list_contracts(customer_id, status, page)


async def live_contract(repo: Repositories, contract_id: uuid.UUID) -> ContractRecord:
    contract = await repo.contracts.get_contract(contract_id, for_update=True)
    if contract is None:
        raise NotFound("contract not found")
    return contract


async def _move_to(
    session: AsyncSession,
    contract_id: uuid.UUID,
    status: str,
    announced: Event,
    now: datetime,
    horizon_days: int,
    *,
    ended_on: date | None = None,
) -> ContractRecord:
    """Store the new status, announce it, let the visits follow, and read the contract back."""
    repo = Repositories(session)
    await repo.contracts.set_contract_status(contract_id, status, ended_on=ended_on)
    await add_event(session, messaging, announced, occurred_at=now)
    await regenerate_visits(session, contract_id, now, horizon_days)
    moved = await repo.contracts.get_contract(contract_id)
    assert moved is not None
    return moved


def _changed_fields(before: ContractTerms, after: ContractTerms) -> list[str]:
    return [name for name in ContractTerms.__dataclass_fields__ if getattr(before, name) != getattr(after, name)]


async def change_contract(
    session: AsyncSession, contract_id: uuid.UUID, changes: dict[str, object], now: datetime, horizon_days: int
) -> ContractRecord:
    """Rewrite some terms; a live contract is re-checked for overlaps, announced and its visits follow."""
    repo = Repositories(session)
    contract = await live_contract(repo, contract_id)
    if contract.status in ENDED_STATUSES:
        raise Conflict(f"a {contract.status} contract cannot be changed")
    terms = replace(contract.terms, **changes)  # type: ignore[arg-type]
    await _checked_terms(repo, contract.customer_id, terms)
    await repo.contracts.update_contract(contract_id, terms)
    updated = await repo.contracts.get_contract(contract_id)
    assert updated is not None
    if contract.status != "draft":
        await _ensure_no_overlap(repo, updated)
        await add_event(
            session,
            messaging,
            ContractChanged(
                contract_id=contract_id,
                customer_id=contract.customer_id,
                status=contract.status,
                changes=_changed_fields(contract.terms, terms),
            ),
            occurred_at=now,
        )
        await regenerate_visits(session, contract_id, now, horizon_days, contract=updated)
    return updated


async def activate_contract(
    session: AsyncSession, contract_id: uuid.UUID, now: datetime, horizon_days: int
) -> ContractRecord:
    """draft -> active (or suspended -> active): no overlap allowed; visits are generated at once."""
    repo = Repositories(session)
    contract = await live_contract(repo, contract_id)
    ensure_transition(contract.status, "active")
    if (
        contract.terms.ends_on is not None
        and contract.terms.ends_on < now.astimezone(ZoneInfo(contract.terms.timezone)).date()
    ):
        raise Conflict("the contract's period is already over")
    await _ensure_no_overlap(repo, contract)
    announced: ContractActivated | ContractChanged
    if contract.status == "draft":
        announced = ContractActivated(
            contract_id=contract_id,
            customer_id=contract.customer_id,
            contract_type=contract.terms.contract_type,
            starts_on=contract.terms.starts_on.isoformat(),
            ends_on=contract.terms.ends_on.isoformat() if contract.terms.ends_on else None,
            site_ids=contract.terms.site_ids,
            equipment_ids=contract.terms.equipment_ids,
            timezone=contract.terms.timezone,
        )
    else:
        announced = ContractChanged(
            contract_id=contract_id, customer_id=contract.customer_id, status="active", changes=["status"]
        )
    return await _move_to(session, contract_id, "active", announced, now, horizon_days)


async def suspend_contract(
    session: AsyncSession, contract_id: uuid.UUID, now: datetime, horizon_days: int
) -> ContractRecord:
    contract = await live_contract(Repositories(session), contract_id)
    ensure_transition(contract.status, "suspended")
    return await _move_to(
        session,
        contract_id,
        "suspended",
        ContractChanged(
            contract_id=contract_id, customer_id=contract.customer_id, status="suspended", changes=["status"]
        ),
        now,
        horizon_days,
    )


async def end_contract(
    session: AsyncSession, contract_id: uuid.UUID, status: str, *, now: datetime, ended_on: date | None = None
) -> ContractRecord:
    """-> terminated or expired: announced, and every visit not yet started is cancelled."""
    repo = Repositories(session)
    contract = await live_contract(repo, contract_id)
    ensure_transition(contract.status, status)
    local_today = now.astimezone(ZoneInfo(contract.terms.timezone)).date()
    ended = ended_on or (contract.terms.ends_on if status == "expired" and contract.terms.ends_on else local_today)
    return await _move_to(
        session,
        contract_id,
        status,
        ContractEnded(
            contract_id=contract_id, customer_id=contract.customer_id, status=status, ended_on=ended.isoformat()
        ),
        now,
        0,
        ended_on=ended,
    )


async def terminate_contract(session: AsyncSession, contract_id: uuid.UUID, now: datetime) -> ContractRecord:
    return await end_contract(session, contract_id, "terminated", now=now)


@dataclass(frozen=True)
class TransitionPreview:
    """What activating, suspending or terminating would do, found by doing it and rolling it back."""

    action: str
    status_before: str
    status_after: str | None
    refused: str | None
    visits_planned: list[VisitRow]
    visits_cancelled: list[VisitRow]
    sites: int
    units: int


async def preview_transition(
    session: AsyncSession, contract_id: uuid.UUID, action: str, now: datetime, horizon_days: int
) -> TransitionPreview:
    """Run the real transition inside a savepoint, compare the contract's visits, and roll everything back."""
    repo = Repositories(session)
    before = await find_contract(session, contract_id)
    visits_before = {v.id: v for v in await repo.visits.list_visits(contract_id, None, None, None)}
    moves = {
        "activate": lambda: activate_contract(session, contract_id, now, horizon_days),
        "suspend": lambda: suspend_contract(session, contract_id, now, horizon_days),
        "terminate": lambda: terminate_contract(session, contract_id, now),
    }
    refused: str | None = None
    after_status: str | None = None
    planned: list[VisitRow] = []
    cancelled: list[VisitRow] = []
    savepoint = await session.begin_nested()
    try:
        moved = await moves[action]()
        after_status = moved.status
        for visit in await repo.visits.list_visits(contract_id, None, None, None):
            earlier = visits_before.get(visit.id)
            if visit.status == "cancelled" and earlier is not None and earlier.status != "cancelled":
                cancelled.append(visit)
            elif visit.status != "cancelled" and (earlier is None or earlier.status == "cancelled"):
                planned.append(visit)
    except Conflict as exc:
        refused = exc.detail
    finally:
        await savepoint.rollback()
    return TransitionPreview(
        action=action,
        status_before=before.status,
        status_after=after_status,
        refused=refused,
        visits_planned=planned,
        visits_cancelled=cancelled,
        sites=len(before.terms.site_ids),
        units=len(before.terms.equipment_ids),
    )
