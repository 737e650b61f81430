"""Filing a service request: idempotent by (customer, Idempotency-Key), entitlement from contracts.

A request is only accepted once contracts has answered (site, coverage, SLA). When contracts does not
answer, nothing is written and the caller gets 503 with Retry-After: retrying with the same key is safe.
Uncovered and over-quota requests are accepted as billable and flagged, never dropped; a unit that is
not at the site is refused (422 naming `equipment_id`), since nobody could be sent to fix it.

Filing takes its units of work from the caller as a factory (`Transactions`): the idempotency look-up and
the insert are two short transactions around the call to contracts, so no connection waits on the broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.requests import RequestsRepository
from services.requests.db.tables import messaging
from services.requests.db.timeline import TimelineRepository
from services.requests.domain.filing import (
    ESTIMATED_DURATION_MINUTES,
    Coverage,
    RequestDraft,
    as_filed_by_customer,
    check_preferred_windows,
    deadlines_after_the_customers_window,
    follow_up_description,
    on_site_contact,
    settled_priority,
)
from services.requests.domain.records import ServiceRequestRecord
from shared.auth import Principal, Role
from shared.errors import InvalidInput, PermanentMessageError
from shared.events.common import GeoPoint, SkillNeed
from shared.events.contracts import EntitlementAnswer, EntitlementQuery
from shared.events.requests import PreferredWindow, ServiceRequestCreated
from shared.messaging import add_event

Transactions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class EntitlementCheck(Protocol):
    async def check(self, query: EntitlementQuery) -> EntitlementAnswer: ...


_REQUEST_IDS = uuid.UUID("0b9c2f7e-5a51-4f0e-9d3c-6f1e2a8b7c40")  # namespace of filed requests' ids


def request_id_for(customer_id: uuid.UUID, idempotency_key: str) -> uuid.UUID:
    """The id a request filed by this customer under this Idempotency-Key gets, whichever try files it."""
    return uuid.uuid5(_REQUEST_IDS, f"{customer_id}:{idempotency_key}")


async def file_request(
    transactions: Transactions,
    entitlement: EntitlementCheck,
    principal: Principal,
    customer_id: uuid.UUID,
    idempotency_key: str,
    draft: RequestDraft,
    *,
    now: datetime,
) -> tuple[ServiceRequestRecord, bool]:
    """The request for this key, and whether this call created it."""
    if principal.role is Role.CUSTOMER:
        draft = as_filed_by_customer(draft)
    async with transactions() as session:
        existing = await RequestsRepository(session).by_idempotency_key(customer_id, idempotency_key)
    if existing is not None:
        return _same_request(existing, draft.fingerprint), False

    check_preferred_windows(draft.kind, list(draft.preferred_windows), now)
    # Asked on behalf of this request: contracts reserves a unit of quota for it, once. The id follows from
    # (customer, Idempotency-Key), so a retry or a concurrent duplicate asks for the same reservation.
    request_id = request_id_for(customer_id, idempotency_key)
    answer = await entitlement.check(
        EntitlementQuery(
            site_id=draft.site_id,
            equipment_id=draft.equipment_id,
            kind=draft.kind,
            priority=draft.priority,
            at=now,
            request_id=request_id,
            customer_id=customer_id,
        )
    )
    if not answer.found or answer.site is None or answer.site.customer_id != customer_id:
        raise InvalidInput("site_id", "no such site for this customer")
    if draft.equipment_id is not None and not answer.equipment_found:
        raise InvalidInput("equipment_id", "no such unit at this site")
    coverage = Coverage(covered=answer.covered, quota_exceeded=answer.quota_exceeded)
    due = deadlines_after_the_customers_window(draft.kind, answer.response_due, answer.fix_due, draft.preferred_windows)
    request = ServiceRequestRecord(
        id=request_id,
        customer_id=customer_id,
        site_id=draft.site_id,
        equipment_id=draft.equipment_id,
        kind=draft.kind,
        priority=settled_priority(draft.kind, draft.priority, answer.priority),
        description=draft.description,
        status="new",
        contact=on_site_contact(draft.contact, answer.site.contact_name, answer.site.contact_phone),
        covered=coverage.covered,
        billable=coverage.billable,
        quota_exceeded=coverage.quota_exceeded,
        coverage_reason=answer.reason,
        contract_id=answer.contract_id,
        response_due=due.response_due,
        fix_due=due.fix_due,
        preferred_windows=[
            PreferredWindow(start=w.start, end=w.end).model_dump(mode="json") for w in draft.preferred_windows
        ],
        site_lat=answer.site.location.lat,
        site_lon=answer.site.location.lon,
        site_address=answer.site.address,
        site_territory_id=answer.site.territory_id,
        required_skills=[s.model_dump() for s in answer.required_skills],
        late_penalty_per_hour=answer.late_penalty_per_hour,
        visit_value=answer.visit_value,
        idempotency_key=idempotency_key,
        request_fingerprint=draft.fingerprint,
        created_at=now,
        updated_at=now,
    )
    async with transactions() as session:
        repo = RequestsRepository(session)
        if not await repo.insert_if_new(request):  # a concurrent duplicate won the race
            existing = await repo.by_idempotency_key(customer_id, idempotency_key)
            assert existing is not None
            return _same_request(existing, draft.fingerprint), False
        await TimelineRepository(session).add(
            request_id,
            "new",
            now,
            detail={"filed_by": principal.subject, "coverage": coverage.label, "reason": answer.reason},
        )
        await add_event(session, messaging, created_event(request), occurred_at=now)
        created = await repo.get(request_id)
    assert created is not None
    return created, True


async def open_follow_up(
    session: AsyncSession, original: ServiceRequestRecord, outcome: str, at: datetime, source_event_id: uuid.UUID
) -> uuid.UUID:
    """Open (once) the return visit a failed job needs, linked to the original; returns its id."""
    repo = RequestsRepository(session)
    existing = await repo.follow_up_of(original.id)
    if existing is not None:
        return existing
    if original.site_lat is None or original.site_lon is None:
        raise PermanentMessageError(f"request {original.id} has no site location for a follow-up")
    follow_up = replace(
        original,
        id=uuid.uuid4(),
        kind="routine",
        status="new",
        description=follow_up_description(original.description, outcome),
        response_due=None,
        fix_due=None,  # parts set the pace now
        preferred_windows=[],
        follow_up_of=original.id,
        idempotency_key=f"follow-up:{original.id}",
        request_fingerprint=f"follow-up:{original.id}",
        created_at=at,
        updated_at=at,
        assignment_id=None,
        technician_id=None,
        technician_first_name=None,
        eta=None,
        unplaceable_reason=None,
        cancelled_at=None,
        cancelled_by=None,
        cancel_reason=None,
        version=1,
    )
    if not await repo.insert_if_new(follow_up):
        raise RuntimeError(f"follow-up of {original.id} raced; retry")  # the redelivery finds it
    await TimelineRepository(session).add(
        follow_up.id, "new", at, source_event_id, {"follow_up_of": str(original.id), "outcome": outcome}
    )
    await add_event(session, messaging, created_event(follow_up), occurred_at=at)
    return follow_up.id


def created_event(request: ServiceRequestRecord) -> ServiceRequestCreated:
    """ServiceRequestCreated from a stored request."""
    assert request.site_lat is not None and request.site_lon is not None
    return ServiceRequestCreated(
        request_id=request.id,
        customer_id=request.customer_id,
        site_id=request.site_id,
        equipment_id=request.equipment_id,
        kind=request.kind,
        priority=request.priority,
        location=GeoPoint(lat=request.site_lat, lon=request.site_lon),
        description=request.description,
        required_skills=[SkillNeed.model_validate(s) for s in request.required_skills],
        covered=request.covered,
        contract_id=request.contract_id,
        response_due=request.response_due,
        fix_due=request.fix_due,
        estimated_duration_minutes=ESTIMATED_DURATION_MINUTES[request.kind],
        created_at=request.created_at,
        billable=request.billable,
        quota_exceeded=request.quota_exceeded,
        preferred_windows=[PreferredWindow.model_validate(w) for w in request.preferred_windows],
        follow_up_of=request.follow_up_of,
        contact_name=request.contact.get("name", ""),
        contact_phone=request.contact.get("phone", ""),
        address=request.site_address or "",
        late_penalty_per_hour=request.late_penalty_per_hour,
        visit_value=request.visit_value,
        territory_id=request.site_territory_id,
    )


def _same_request(existing: ServiceRequestRecord, print_: str) -> ServiceRequestRecord:
    if existing.request_fingerprint != print_:
        raise InvalidInput("Idempotency-Key", "already used for a different request")
    return existing
