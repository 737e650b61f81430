"""Contracts, their lifecycle, visit schedules, planned visits, health and entitlement."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Query, status

from services.contracts.api.deps import (
    AppClock,
    Caller,
    Config,
    Jobs,
    Manager,
    Session,
    skill_needs,
    skills,
    visible,
    weekly_hours,
    weekly_hours_out,
)
from services.contracts.api.schemas import (
    ContractHealthOut,
    ContractIn,
    ContractOut,
    ContractPatch,
    GenerateIn,
    GenerationOut,
    PreviewedVisitOut,
    PriceIn,
    QuotaIn,
    QuotaOut,
    ScheduleIn,
    ScheduleOut,
    SchedulePatch,
    SlaHealth,
    SlaTermIn,
    TransitionPreviewOut,
    VisitHealth,
    VisitOut,
)
from services.contracts.domain.contract import ContractRecord, ContractTerms, Price, ScheduleRow
from services.contracts.domain.quota import Quota
from services.contracts.domain.sla import SlaTerm
from services.contracts.domain.visits import VisitRow
from services.contracts.usecases import contracting, health, schedules
from services.contracts.usecases.entitlement import check_entitlement
from services.contracts.usecases.sweep import generate_all
from shared.auth import Role, ensure_customer_access
from shared.errors import NotFound
from shared.events.common import Priority, RequestKind
from shared.events.contracts import EntitlementAnswer, EntitlementQuery
from shared.pagination import Paging

router = APIRouter(tags=["contracts"])


def _sla(terms: list[SlaTermIn]) -> list[SlaTerm]:
    return [
        SlaTerm(
            t.priority,
            t.response_minutes,
            t.fix_minutes,
            skills(t.required_skills),
            late_penalty_per_hour=t.late_penalty_per_hour,
            visit_value=t.visit_value,
        )
        for t in terms
    ]


def _quotas(quotas: list[QuotaIn]) -> list[Quota]:
    return [Quota(q.request_kind, q.period, q.included) for q in quotas]


def _price(price: PriceIn) -> Price:
    return Price(price.amount, price.currency, price.billing_period, price.extra_callout_price)


def contract_out(contract: ContractRecord) -> ContractOut:
    terms = contract.terms
    return ContractOut(
        id=contract.id,
        customer_id=contract.customer_id,
        contract_type=terms.contract_type,
        status=contract.status,
        starts_on=terms.starts_on,
        ends_on=terms.ends_on,
        ended_on=contract.ended_on,
        site_ids=terms.site_ids,
        equipment_ids=terms.equipment_ids,
        sla=[
            SlaTermIn(
                priority=t.priority,
                response_minutes=t.response_minutes,
                fix_minutes=t.fix_minutes,
                required_skills=skill_needs(t.required_skills),
                late_penalty_per_hour=t.late_penalty_per_hour,
                visit_value=t.visit_value,
            )
            for t in terms.sla
        ],
        timezone=terms.timezone,
        business_hours=weekly_hours_out(terms.business_hours),
        holidays=terms.holidays,
        quotas=[QuotaIn(request_kind=q.request_kind, period=q.period, included=q.included) for q in terms.quotas],
        price=PriceIn(
            amount=terms.price.amount,
            currency=terms.price.currency,
            billing_period=terms.price.billing_period,
            extra_callout_price=terms.price.extra_callout_price,
        ),
    )


@router.post("/contracts", status_code=status.HTTP_201_CREATED, response_model=ContractOut)
async def create_contract(body: ContractIn, session: Session, _: Manager) -> ContractOut:
    terms = ContractTerms(
        contract_type=body.contract_type,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        site_ids=body.site_ids,
        equipment_ids=body.equipment_ids,
        sla=_sla(body.sla),
        timezone=body.timezone,
        business_hours=weekly_hours("business_hours", body.business_hours, body.timezone),
        holidays=body.holidays,
        quotas=_quotas(body.quotas),
        price=_price(body.price),
    )
    return contract_out(await contracting.create_contract(session, body.customer_id, terms))


@router.get("/contracts", response_model=list[ContractOut], summary="Contracts (a customer sees only its own)")
async def list_contracts(
    session: Session,
    principal: Caller,
    page: Paging,
    customer_id: uuid.UUID | None = None,
    contract_status: str | None = Query(None, alias="status"),
) -> list[ContractOut]:
    if not principal.is_staff:
        if principal.role is not Role.CUSTOMER or principal.customer_id is None:
            return []
        customer_id = principal.customer_id
    return [contract_out(c) for c in await contracting.list_contracts(session, customer_id, contract_status, page)]


@router.get("/contracts/{contract_id}", response_model=ContractOut)
async def get_contract(contract_id: uuid.UUID, session: Session, principal: Caller) -> ContractOut:
    return contract_out(visible(await contracting.find_contract(session, contract_id), principal, "contract"))


@router.patch(
    "/contracts/{contract_id}",
    response_model=ContractOut,
    summary="Change terms; a live contract is re-checked, announced, and its visits follow",
)
async def change_contract(
    contract_id: uuid.UUID, body: ContractPatch, session: Session, clock: AppClock, config: Config, _: Manager
) -> ContractOut:
    changes: dict[str, object] = {}
    sent = body.model_fields_set
    for name in ("ends_on", "site_ids", "equipment_ids", "timezone", "holidays"):
        if name in sent:
            changes[name] = getattr(body, name)
    if "sla" in sent and body.sla is not None:
        changes["sla"] = _sla(body.sla)
    if "quotas" in sent and body.quotas is not None:
        changes["quotas"] = _quotas(body.quotas)
    if "price" in sent and body.price is not None:
        changes["price"] = _price(body.price)
    if "business_hours" in sent:
        changes["business_hours"] = weekly_hours("business_hours", body.business_hours)
    contract = await contracting.change_contract(session, contract_id, changes, clock.now(), config.visit_horizon_days)
    return contract_out(contract)


@router.post(
    "/contracts/{contract_id}/activate",
    response_model=ContractOut,
    summary="draft -> active, or resume a suspended contract; refused if coverage would overlap",
)
async def activate_contract(
    contract_id: uuid.UUID, session: Session, clock: AppClock, config: Config, _: Manager
) -> ContractOut:
    return contract_out(
        await contracting.activate_contract(session, contract_id, clock.now(), config.visit_horizon_days)
    )


@router.post("/contracts/{contract_id}/suspend", response_model=ContractOut)
async def suspend_contract(
    contract_id: uuid.UUID, session: Session, clock: AppClock, config: Config, _: Manager
) -> ContractOut:
    return contract_out(
        await contracting.suspend_contract(session, contract_id, clock.now(), config.visit_horizon_days)
    )


@router.post("/contracts/{contract_id}/terminate", response_model=ContractOut)
async def terminate_contract(contract_id: uuid.UUID, session: Session, clock: AppClock, _: Manager) -> ContractOut:
    return contract_out(await contracting.terminate_contract(session, contract_id, clock.now()))


def _visit_window(visit: VisitRow) -> PreviewedVisitOut:
    return PreviewedVisitOut(
        due_on=visit.due_on, due_at=visit.due_at, window_start=visit.window_start, window_end=visit.window_end
    )


@router.get(
    "/contracts/{contract_id}/{action}/preview",
    response_model=TransitionPreviewOut,
    summary="What activate, suspend or terminate would do (visits planned or cancelled), without doing it",
)
async def preview_transition(
    contract_id: uuid.UUID,
    action: Literal["activate", "suspend", "terminate"],
    session: Session,
    clock: AppClock,
    config: Config,
    _: Manager,
) -> TransitionPreviewOut:
    found = await contracting.preview_transition(session, contract_id, action, clock.now(), config.visit_horizon_days)
    return TransitionPreviewOut(
        action=action,
        status_before=found.status_before,
        status_after=found.status_after,
        refused=found.refused,
        visits_planned=[_visit_window(v) for v in found.visits_planned],
        visits_cancelled=[_visit_window(v) for v in found.visits_cancelled],
        sites=found.sites,
        units=found.units,
    )


@router.get(
    "/contracts/{contract_id}/health",
    response_model=ContractHealthOut,
    summary="Visits due, done and overdue; SLA compliance and quota use from requests and dispatch events",
)
async def contract_health(
    contract_id: uuid.UUID, session: Session, clock: AppClock, principal: Caller
) -> ContractHealthOut:
    now = clock.now()
    found = await health.contract_health(session, contract_id, now)
    ensure_customer_access(principal, found.contract.customer_id, "contract")
    sla = found.sla

    def _share(met: int, breached: int) -> float | None:
        return round(met / (met + breached), 4) if met + breached else None

    return ContractHealthOut(
        contract_id=contract_id,
        status=found.contract.status,
        at=now,
        visits=VisitHealth(**asdict(found.visits)),
        sla=SlaHealth(
            **asdict(sla),
            response_compliance=_share(sla.response_met, sla.response_breached),
            fix_compliance=_share(sla.fix_met, sla.fix_breached),
        ),
        quotas=[
            QuotaOut(
                request_kind=u.quota.request_kind,
                period=u.quota.period,
                included=u.quota.included,
                used=u.used,
                left=u.left,
                period_starts_on=first,
                period_ends_on=end,
            )
            for u, first, end in found.quotas
        ],
    )


# --- schedules and visits ----------------------------------------------------------------------------


def schedule_out(schedule: ScheduleRow) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        contract_id=schedule.contract_id,
        site_id=schedule.site_id,
        equipment_id=schedule.equipment_id,
        rrule=schedule.rrule,
        first_on=schedule.first_on,
        visit_time=schedule.visit_time,
        tolerance_days=schedule.tolerance_days,
        duration_minutes=schedule.duration_minutes,
        required_skills=skill_needs(schedule.required_skills),
        priority=schedule.priority,
        active=schedule.active,
    )


def visit_out(visit: VisitRow) -> VisitOut:
    return VisitOut(
        id=visit.id,
        schedule_id=visit.schedule_id,
        contract_id=visit.contract_id,
        customer_id=visit.customer_id,
        site_id=visit.site_id,
        equipment_ids=list(visit.equipment_ids),
        due_on=visit.due_on,
        due_at=visit.due_at,
        window_start=visit.window_start,
        window_end=visit.window_end,
        duration_minutes=visit.duration_minutes,
        required_skills=skill_needs(visit.required_skills),
        priority=visit.priority,
        status=visit.status,
        carried_over_from=visit.carried_over_from,
        carried_work=visit.carried_work,
    )


@router.post(
    "/contracts/{contract_id}/schedules",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleOut,
    summary="Add a visit schedule (RFC 5545 RRULE); an active contract's visits are generated at once",
)
async def add_schedule(
    contract_id: uuid.UUID, body: ScheduleIn, session: Session, clock: AppClock, config: Config, _: Manager
) -> ScheduleOut:
    added = await schedules.add_schedule(
        session,
        contract_id,
        site_id=body.site_id,
        equipment_id=body.equipment_id,
        rrule=body.rrule.strip(),
        first_on=body.first_on,
        visit_time=body.visit_time,
        tolerance_days=body.tolerance_days,
        duration_minutes=body.duration_minutes,
        required_skills=skills(body.required_skills),
        priority=body.priority,
        now=clock.now(),
        horizon_days=config.visit_horizon_days,
    )
    return schedule_out(added)


@router.get("/contracts/{contract_id}/schedules", response_model=list[ScheduleOut])
async def list_schedules(
    contract_id: uuid.UUID, session: Session, principal: Caller, page: Paging
) -> list[ScheduleOut]:
    contract, found = await schedules.contract_schedules(session, contract_id)
    visible(contract, principal, "contract")
    return [schedule_out(s) for s in page.window(found)]


@router.patch(
    "/schedules/{schedule_id}",
    response_model=ScheduleOut,
    summary="Change or retire (active=false) a schedule; visits that no longer apply are cancelled or moved",
)
async def change_schedule(
    schedule_id: uuid.UUID, body: SchedulePatch, session: Session, clock: AppClock, config: Config, _: Manager
) -> ScheduleOut:
    changes: dict[str, object] = {
        name: getattr(body, name) for name in body.model_fields_set if getattr(body, name) is not None
    }
    if "required_skills" in changes:
        changes["required_skills"] = skills(body.required_skills or [])
    if "rrule" in changes:
        changes["rrule"] = str(changes["rrule"]).strip()
    changed = await schedules.change_schedule(session, schedule_id, changes, clock.now(), config.visit_horizon_days)
    return schedule_out(changed)


@router.get("/contracts/{contract_id}/visits", response_model=list[VisitOut])
async def list_visits(
    contract_id: uuid.UUID,
    session: Session,
    principal: Caller,
    page: Paging,
    since: datetime | None = Query(None, alias="from"),
    until: datetime | None = Query(None, alias="to"),
    visit_status: str | None = Query(None, alias="status"),
) -> list[VisitOut]:
    contract, visits = await schedules.contract_visits(session, contract_id, since, until, visit_status)
    visible(contract, principal, "contract")
    return [visit_out(v) for v in page.window(visits)]


@router.post(
    "/visits/generate",
    response_model=GenerationOut,
    summary="Generate planned visits now (idempotent): one contract, or every active one",
)
async def generate_visits(
    body: GenerateIn, session: Session, jobs: Jobs, clock: AppClock, config: Config, _: Manager
) -> GenerationOut:
    horizon = body.horizon_days or config.visit_horizon_days
    now = clock.now()
    if body.contract_id is not None:
        summary = await schedules.generate_visits_now(session, body.contract_id, now, horizon)
    else:  # a transaction per contract, as the sweep does
        summary = await generate_all(jobs, now, horizon)
    return GenerationOut(**vars(summary))


# --- entitlement -------------------------------------------------------------------------------------


@router.get(
    "/entitlement",
    response_model=EntitlementAnswer,
    summary="Is this site or unit covered for this kind of request, with which SLA deadlines from now?",
    description="Without a priority, an emergency is P1 on a critical or high unit and P2 on a normal or "
    "low one; an emergency at a site with no unit named is P1 (the conservative choice: "
    "nothing says the breakdown is minor). A routine request is P3. A unit that is not at "
    "the site answers `equipment_found: false`.",
)
async def get_entitlement(
    site_id: uuid.UUID,
    session: Session,
    clock: AppClock,
    principal: Caller,
    kind: RequestKind = "emergency",
    priority: Priority | None = None,
    equipment_id: uuid.UUID | None = Query(None),
    at: datetime | None = None,
) -> EntitlementAnswer:
    asked_at = at.astimezone(UTC) if at is not None and at.tzinfo is not None else clock.now()
    answer = await check_entitlement(
        session, EntitlementQuery(site_id=site_id, equipment_id=equipment_id, kind=kind, priority=priority, at=asked_at)
    )
    if not answer.found or answer.site is None:
        raise NotFound("site not found")
    ensure_customer_access(principal, answer.site.customer_id, "site")
    if not principal.is_staff:  # what the company reckons a visit worth, and lateness cost, is the staff's to see
        return answer.model_copy(update={"late_penalty_per_hour": None, "visit_value": None})
    return answer
