"""Filing a service request: idempotent by (customer, Idempotency-Key), entitlement from contracts."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client

from services.requests.api.schemas import ServiceRequestIn
from services.requests.db.repository import RequestsRepository
from services.requests.db.tables import messaging
from shared.auth import Principal
from shared.db import Database
from shared.errors import InvalidInput
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery
from shared.events.requests import ServiceRequestCreated
from shared.messaging import add_event, rpc

DEFAULT_DURATION_MINUTES = {"emergency": 90, "routine": 60, "planned": 60}


def fingerprint(body: ServiceRequestIn) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def file_request(db: Database, nc: Client, principal: Principal, customer_id: uuid.UUID,
                       idempotency_key: str, body: ServiceRequestIn) -> tuple[dict[str, Any], bool]:
    """The request for this key, and whether this call created it."""
    print_ = fingerprint(body)
    async with db.transaction() as session:
        existing = await RequestsRepository(session).by_idempotency_key(customer_id, idempotency_key)
    if existing is not None:
        return _same_request(existing, print_), False

    now = datetime.now(UTC)
    answer = await rpc.call(nc, CHECK_ENTITLEMENT, EntitlementQuery(
        site_id=body.site_id, equipment_id=body.equipment_id, kind=body.kind, priority=body.priority, at=now,
    ), EntitlementAnswer)
    if not answer.found or answer.site is None or answer.site.customer_id != customer_id:
        raise InvalidInput("site_id", "no such site for this customer")
    priority = body.priority or answer.priority or ("P2" if body.kind == "emergency" else "P3")
    request_id = uuid.uuid4()
    values = {
        "id": request_id, "customer_id": customer_id, "site_id": body.site_id, "equipment_id": body.equipment_id,
        "kind": body.kind, "priority": priority, "description": body.description,
        "contact": body.contact.model_dump(), "status": "new", "covered": answer.covered,
        "billable": not answer.covered or answer.quota_exceeded, "quota_exceeded": answer.quota_exceeded,
        "coverage_reason": answer.reason, "contract_id": answer.contract_id,
        "response_due": answer.response_due, "fix_due": answer.fix_due,
        "idempotency_key": idempotency_key, "request_fingerprint": print_, "created_at": now, "updated_at": now,
    }
    async with db.transaction() as session:
        repo = RequestsRepository(session)
        if not await repo.insert_if_new(values):  # a concurrent duplicate won the race
            existing = await repo.by_idempotency_key(customer_id, idempotency_key)
            assert existing is not None
            return _same_request(existing, print_), False
        await repo.add_timeline(request_id, "new", now, detail={"filed_by": principal.subject})
        await add_event(session, messaging, ServiceRequestCreated(
            request_id=request_id, customer_id=customer_id, site_id=body.site_id, equipment_id=body.equipment_id,
            kind=body.kind, priority=priority, location=answer.site.location, description=body.description,
            required_skills=answer.required_skills, covered=answer.covered, contract_id=answer.contract_id,
            response_due=answer.response_due, fix_due=answer.fix_due,
            estimated_duration_minutes=DEFAULT_DURATION_MINUTES[body.kind], created_at=now,
        ))
        created = await repo.get(request_id)
    assert created is not None
    return created, True


def _same_request(existing: dict[str, Any], print_: str) -> dict[str, Any]:
    if existing["request_fingerprint"] != print_:
        raise InvalidInput("Idempotency-Key", "already used for a different request")
    return existing
