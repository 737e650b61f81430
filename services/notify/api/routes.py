"""HTTP API of the notify service: live streams, recipients and preferences, webhooks, the delivery log."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from services.notify.api.schemas import (
    DeliveryAttempt,
    DeliveryDetail,
    DeliveryOut,
    Preferences,
    RecipientIn,
    RecipientOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookSecretRotated,
    WebhookSecretRotation,
)
from services.notify.db.repository import NotifyRepository
from services.notify.domain.audience import Audience
from services.notify.recipients import (
    add_recipient,
    change_preferences,
    ensure_recipient_access,
    register_webhook,
    rotate_webhook_secret,
)
from services.notify.streams import sse_messages, streams_for
from shared.auth import Principal, Role, current_principal, ensure_customer_access, require_roles
from shared.db import Database
from shared.errors import NotFound, Unauthorized
from shared.http import sse_response

router = APIRouter(tags=["notify"])


def _db(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


async def _principal(request: Request, access_token: str | None) -> Principal:
    # Browsers' EventSource cannot set headers, so a token may come as a query parameter too.
    header = request.headers.get("authorization", "")
    token = header.partition(" ")[2].strip() if header.lower().startswith("bearer ") else access_token
    if not token:
        raise Unauthorized("a bearer token is required")
    principal: Principal = await request.app.state.verifier.verify(token)
    return principal


@router.get("/streams/me", summary="The caller's live stream (SSE); resumes after Last-Event-ID",
            response_class=StreamingResponse)
async def my_stream(request: Request, access_token: str | None = Query(None),
                    last_event_id: str | None = Header(None, alias="Last-Event-ID")) -> StreamingResponse:
    principal = await _principal(request, access_token)
    streams = streams_for(principal.role.value, principal.customer_id, principal.technician_id)
    try:
        after = int(last_event_id) if last_event_id else 0
    except ValueError:
        after = 0
    runtime = request.app.state.runtime
    return sse_response(
        sse_messages(runtime.db, runtime.extras["hub"], streams, after, runtime.settings.sse_keepalive_s))


# --- recipients and their preferences ----------------------------------------------------------------------

@router.post("/recipients", status_code=status.HTTP_201_CREATED, response_model=RecipientOut,
             summary="Add a recipient (staff; a customer may add its own contacts)")
async def create_recipient(body: RecipientIn, request: Request,
                           principal: Principal = Depends(current_principal)) -> RecipientOut:
    return RecipientOut.model_validate(await add_recipient(_db(request), principal, body))


@router.get("/recipients", response_model=list[RecipientOut],
            summary="Recipients: staff see all; customers their contacts; technicians themselves")
async def list_recipients(request: Request, kind: Audience | None = None, customer_id: uuid.UUID | None = None,
                          technician_id: uuid.UUID | None = None,
                          principal: Principal = Depends(current_principal)) -> list[RecipientOut]:
    if principal.role is Role.CUSTOMER:
        kind, customer_id, technician_id = Audience.CUSTOMER, principal.customer_id, None
    elif principal.role is Role.TECHNICIAN:
        kind, customer_id, technician_id = Audience.TECHNICIAN, None, principal.technician_id
    async with _db(request).transaction() as session:
        rows = await NotifyRepository(session).list_recipients(
            kind=kind.value if kind else None, customer_id=customer_id, technician_id=technician_id)
    return [RecipientOut.model_validate(r) for r in rows]


@router.get("/recipients/{recipient_id}", response_model=RecipientOut)
async def get_recipient(recipient_id: uuid.UUID, request: Request,
                        principal: Principal = Depends(current_principal)) -> RecipientOut:
    async with _db(request).transaction() as session:
        row = await NotifyRepository(session).recipient(recipient_id)
    if row is None:
        raise NotFound("recipient not found")
    ensure_recipient_access(principal, row)
    return RecipientOut.model_validate(row)


@router.patch("/recipients/{recipient_id}", response_model=RecipientOut,
              summary="Change preferences: language, channels, e-mail, quiet hours and their time zone")
async def patch_recipient(recipient_id: uuid.UUID, body: Preferences, request: Request,
                          principal: Principal = Depends(current_principal)) -> RecipientOut:
    return RecipientOut.model_validate(await change_preferences(_db(request), principal, recipient_id, body))


@router.delete("/recipients/{recipient_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_recipient(recipient_id: uuid.UUID, request: Request,
                           principal: Principal = Depends(current_principal)) -> Response:
    async with _db(request).transaction() as session:
        repo = NotifyRepository(session)
        row = await repo.recipient(recipient_id)
        if row is None:
            raise NotFound("recipient not found")
        ensure_recipient_access(principal, row)
        await repo.remove_recipient(recipient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- webhooks ---------------------------------------------------------------------------------------------------

@router.post("/customers/{customer_id}/webhooks", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated,
             summary="Register a webhook; the signing secret is in this response only")
async def create_webhook(customer_id: uuid.UUID, body: WebhookIn, request: Request,
                         principal: Principal = Depends(current_principal)) -> WebhookCreated:
    ensure_customer_access(principal, customer_id, "customer")
    row = await register_webhook(_db(request), request.app.state.webhook_allow_list, request.app.state.secret_cipher,
                                 customer_id, body.url, body.language)
    return WebhookCreated.model_validate(row)


@router.get("/customers/{customer_id}/webhooks", response_model=list[WebhookOut])
async def list_webhooks(customer_id: uuid.UUID, request: Request,
                        principal: Principal = Depends(current_principal)) -> list[WebhookOut]:
    ensure_customer_access(principal, customer_id, "customer")
    async with _db(request).transaction() as session:
        rows = await NotifyRepository(session).webhooks_of(customer_id)
    return [WebhookOut.model_validate(r) for r in rows]


@router.delete("/customers/{customer_id}/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Stop a webhook (queued deliveries to it fail)")
async def delete_webhook(customer_id: uuid.UUID, webhook_id: uuid.UUID, request: Request,
                         principal: Principal = Depends(current_principal)) -> Response:
    ensure_customer_access(principal, customer_id, "customer")
    async with _db(request).transaction() as session:
        repo = NotifyRepository(session)
        row = await repo.webhook(webhook_id)
        if row is None or row["customer_id"] != customer_id:
            raise NotFound("webhook not found")
        await repo.deactivate_webhook(webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/customers/{customer_id}/webhooks/{webhook_id}/rotate-secret", response_model=WebhookSecretRotated,
             summary="Replace the signing secret; the new one is in this response only, the old one keeps signing "
                     "next to it for the grace period")
async def rotate_secret(customer_id: uuid.UUID, webhook_id: uuid.UUID, request: Request,
                        body: WebhookSecretRotation | None = None,
                        principal: Principal = Depends(current_principal)) -> WebhookSecretRotated:
    ensure_customer_access(principal, customer_id, "customer")
    grace = timedelta(seconds=(body or WebhookSecretRotation()).grace_period_s)
    row = await rotate_webhook_secret(_db(request), request.app.state.secret_cipher, customer_id, webhook_id, grace,
                                      request.app.state.clock())
    return WebhookSecretRotated.model_validate(row)


# --- the delivery log ---------------------------------------------------------------------------------------------

_dispatchers = require_roles(Role.DISPATCHER)


@router.get("/deliveries", response_model=list[DeliveryOut], summary="The delivery log (dispatchers)")
async def list_deliveries(request: Request, request_id: uuid.UUID | None = None,
                          customer_id: uuid.UUID | None = None, source_event_id: uuid.UUID | None = None,
                          status_: str | None = Query(None, alias="status", pattern="^(queued|sent|failed|dead)$"),
                          channel: str | None = Query(None, pattern="^(email|webhook)$"),
                          limit: int = Query(100, ge=1, le=500),
                          principal: Principal = Depends(_dispatchers)) -> list[DeliveryOut]:
    async with _db(request).transaction() as session:
        rows = await NotifyRepository(session).list_deliveries(
            request_id=request_id, customer_id=customer_id, source_event_id=source_event_id, status=status_,
            channel=channel, limit=limit)
    return [DeliveryOut.model_validate(r) for r in rows]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail,
            summary="One delivery with what was sent and every attempt")
async def get_delivery(delivery_id: uuid.UUID, request: Request,
                       principal: Principal = Depends(_dispatchers)) -> DeliveryDetail:
    async with _db(request).transaction() as session:
        repo = NotifyRepository(session)
        row = await repo.delivery(delivery_id)
        if row is None:
            raise NotFound("delivery not found")
        attempts = await repo.attempts_of(delivery_id)
    return DeliveryDetail.model_validate({**row, "attempt_log": [DeliveryAttempt.model_validate(a) for a in attempts]})
