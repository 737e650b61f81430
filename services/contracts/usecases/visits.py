"""Planned visits: generation over a rolling horizon, carry-over of unfinished work, progress from dispatch.

Convention shared with dispatch: a planned visit is booked under request_id = visit_id, so the
assignment events about it carry the visit's id as their request_id.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.repositories import Repositories
from services.contracts.db.tables import messaging
from services.contracts.domain.contract import ContractRecord
from services.contracts.domain.estate import SiteRow
from services.contracts.domain.schedule import (
    ScheduleFacts,
    VisitRule,
    desired_visits,
    generation_range,
)
from services.contracts.domain.sla import SlaTerm, merged_skills, money_terms
from services.contracts.domain.visits import ExistingVisit, VisitRow, reconcile_visits
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.messaging import add_events

log = logging.getLogger(__name__)

# what an assignment step means for the visit it books; steps after the end are history only
_VISIT_STATUS_BY_STEP = {
    "offered": "assigned",
    "accepted": "assigned",
    "en_route": "in_progress",
    "on_site": "in_progress",
    "completed": "done",
    "failed": "failed",
    "cancelled": "planned",
}
_FINAL_VISIT_STATUSES = frozenset({"done", "failed", "cancelled"})
_PROGRESS_RANK = {"planned": 0, "assigned": 1, "in_progress": 2, "done": 3, "failed": 3}


@dataclass
class GenerationSummary:
    contracts: int = 0
    planned: int = 0
    reinstated: int = 0
    moved: int = 0
    cancelled: int = 0
    carried_over: int = 0
    expired: int = 0

    def add(self, other: GenerationSummary) -> None:
        for name in ("contracts", "planned", "reinstated", "moved", "cancelled", "carried_over", "expired"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _visit_event(
    cls: type[VisitPlanned], visit: VisitRow, site: SiteRow, timezone: str, term: SlaTerm | None
) -> VisitPlanned:
    return cls(
        visit_id=visit.id,
        contract_id=visit.contract_id,
        customer_id=visit.customer_id,
        site_id=visit.site_id,
        equipment_ids=list(visit.equipment_ids),
        location=GeoPoint(lat=site.lat, lon=site.lon),
        due_on=visit.due_on.isoformat(),
        window_start=visit.window_start,
        window_end=visit.window_end,
        duration_minutes=visit.duration_minutes,
        skills=[SkillNeed(skill=s, min_level=lvl) for s, lvl in visit.required_skills],
        priority=visit.priority,
        carried_over_from=visit.carried_over_from,
        schedule_id=visit.schedule_id,
        due_at=visit.due_at,
        address=site.address,
        timezone=timezone,
        access_hours=site.access_hours,
        carried_work=visit.carried_work,
        site_contact_name=site.contact_name,
        site_contact_phone=site.contact_phone,
        **money_terms(term),
        territory_id=site.territory_id,
    )


async def announce(
    repo: Repositories, cls: type[VisitPlanned], visit_ids: list[uuid.UUID], timezone: str, *, now: datetime
) -> None:
    if not visit_ids:
        return
    visits = await repo.visits.visits_by_id(visit_ids)
    sites = await repo.sites.sites_by_id({v.site_id for v in visits})
    # the money terms of each visit's priority under its contract (one contract per generation run, as a rule)
    terms: dict[tuple[uuid.UUID, str], SlaTerm] = {}
    for contract_id in {v.contract_id for v in visits}:
        contract = await repo.contracts.get_contract(contract_id)
        for term in contract.terms.sla if contract is not None else []:
            terms[contract_id, term.priority] = term
    events = [
        _visit_event(cls, visit, sites[visit.site_id], timezone, terms.get((visit.contract_id, visit.priority)))
        for visit in visits
    ]
    await add_events(repo.session, messaging, events, occurred_at=now)


async def schedule_facts(repo: Repositories, contract: ContractRecord) -> list[ScheduleFacts]:
    """The contract's live schedules with the units and skills their visits need (three queries for any number)."""
    schedules = await repo.schedules.list_schedules(contract.id, active_only=True)
    whole_sites = {s.site_id for s in schedules if s.equipment_id is None}
    covered = await repo.schedules.covered_units_at_sites(contract.id, whole_sites) if whole_sites else {}
    units_of = {s.id: [s.equipment_id] if s.equipment_id is not None else covered.get(s.site_id, []) for s in schedules}
    equipment = await repo.sites.equipment_by_id(sorted({u for units in units_of.values() for u in units}))
    facts: list[ScheduleFacts] = []
    for schedule in schedules:
        units = units_of[schedule.id]
        skills = merged_skills(
            schedule.required_skills, *(equipment[u].required_skills for u in units if u in equipment)
        )
        facts.append(
            ScheduleFacts(
                schedule_id=schedule.id,
                site_id=schedule.site_id,
                equipment_ids=tuple(sorted(units)),
                rule=VisitRule(
                    schedule.rrule,
                    schedule.first_on,
                    schedule.visit_time,
                    contract.terms.timezone,
                    schedule.tolerance_days,
                ),
                duration_minutes=schedule.duration_minutes,
                skills=skills,
                priority=schedule.priority,
            )
        )
    return facts


async def regenerate_visits(
    session: AsyncSession,
    contract_id: uuid.UUID,
    now: datetime,
    horizon_days: int,
    *,
    contract: ContractRecord | None = None,
) -> GenerationSummary:
    """Make the contract's planned visits match its schedules for the next `horizon_days`; idempotent.

    A caller that has just read the contract under its row lock passes it in `contract`, saving a second
    read. The number of queries does not grow with the number of schedules or visits: reads and writes
    are in bulk.
    """
    repo = Repositories(session)
    await repo.lock(f"contracts:visits:{contract_id}")
    if contract is None:
        contract = await repo.contracts.get_contract(contract_id)
    summary = GenerationSummary(contracts=1)
    if contract is None:
        return summary
    active = contract.status == "active"
    period = (contract.terms.starts_on, contract.terms.ends_on)
    facts = await schedule_facts(repo, contract) if active else []
    span = generation_range(now, horizon_days, contract.terms.timezone, period) if active else None
    desired = desired_visits(facts, span[0], span[1], period) if span else []
    existing = {v.id: v for v in await repo.visits.visits_to_reconcile(contract_id, now, now)}
    changes = reconcile_visits(
        desired,
        [ExistingVisit(v.id, v.spec, v.status) for v in existing.values()],
        since=now,
        now=now,
        contract_active=active,
        live_schedules={f.schedule_id for f in facts},
    )
    fresh = [(uuid.uuid4(), spec) for spec in changes.planned]
    inserted = await repo.visits.insert_visits(contract.id, contract.customer_id, fresh)
    planned = [visit_id for visit_id, _ in fresh if visit_id in inserted]
    summary.planned = len(planned)
    await repo.visits.rewrite_visits(
        [(visit_id, spec, "planned") for visit_id, spec in changes.reinstated]
        + [(visit_id, spec, existing[visit_id].status) for visit_id, spec in changes.moved]
    )
    planned += [visit_id for visit_id, _ in changes.reinstated]
    await repo.visits.set_visits_status([visit_id for visit_id, _ in changes.cancelled], "cancelled")
    await add_events(
        session,
        messaging,
        [
            VisitCancelled(
                visit_id=visit_id,
                contract_id=contract.id,
                reason=reason,
                customer_id=contract.customer_id,
                site_id=existing[visit_id].site_id,
            )
            for visit_id, reason in changes.cancelled
        ],
        occurred_at=now,
    )
    timezone = contract.terms.timezone
    await announce(repo, VisitPlanned, planned, timezone, now=now)
    await announce(repo, VisitRescheduled, [i for i, _ in changes.moved], timezone, now=now)
    summary.reinstated = len(changes.reinstated)
    summary.moved = len(changes.moved)
    summary.cancelled = len(changes.cancelled)
    summary.carried_over = await carry_over_unfinished_work(session, contract, now)
    return summary


async def carry_over_unfinished_work(session: AsyncSession, contract: ContractRecord, now: datetime) -> int:
    """Hand the work of each failed visit to the next visit of its schedule, once one exists."""
    repo = Repositories(session)
    unfinished = await repo.visits.unfinished_work(contract.id)
    following = await repo.visits.next_visits_after(unfinished)
    handovers: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    for failed in unfinished:  # oldest first: a later failure's work wins a visit both hand to
        into = following.get(failed.id)
        if into is None:
            continue  # generation hands it over when the next occurrence enters the horizon
        work = failed.carried_work or f"unfinished work from the visit due {failed.due_on.isoformat()}"
        handovers.append((failed.id, into.id, work))
    await repo.visits.hand_over_work(handovers)
    await announce(repo, VisitRescheduled, [into for _, into, _ in handovers], contract.terms.timezone, now=now)
    return len(handovers)


async def record_visit_progress(
    session: AsyncSession, visit_id: uuid.UUID, step: str, outcome: str | None, now: datetime
) -> None:
    """Follow dispatch's booking of a planned visit; a failure hands the work to the next visit.

    Steps only move a visit forward (they may arrive out of order across streams), except a cancelled
    assignment, which puts a visit not yet finished back to planned.
    """
    repo = Repositories(session)
    visit = await repo.visits.get_visit(visit_id, for_update=True)
    status = _VISIT_STATUS_BY_STEP.get(step)
    if visit is None or status is None or visit.status in _FINAL_VISIT_STATUSES:
        return
    if step != "cancelled" and _PROGRESS_RANK[status] <= _PROGRESS_RANK[visit.status]:
        return
    if step == "cancelled" and visit.status == "planned":
        return
    await repo.visits.set_visit_status(visit_id, status, carried_work=outcome if status == "failed" else None)
    if status == "failed":
        contract = await repo.contracts.get_contract(visit.contract_id)
        assert contract is not None
        await carry_over_unfinished_work(session, contract, now)
