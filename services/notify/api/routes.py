"""HTTP API of the notify service: live streams, recipients and preferences, webhooks, the delivery log."""

from __future__ import annotations

import html
import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Form, Header, Query, Request, Response, status
from fastapi.responses import HTMLResponse, StreamingResponse

from services.notify.api.deps import (
    Caller,
    Cipher,
    Dispatcher,
    Now,
    Session,
    StreamCaller,
    Streams,
    WebhookAllowList,
)
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
from services.notify.domain.audience import Audience, streams_for
from services.notify.domain.recipients import NewRecipient, PreferenceChanges
from services.notify.settings import Settings
from services.notify.usecases import delivery_log, recipients, webhooks
from shared.auth import ensure_customer_access
from shared.pagination import MAX_LIMIT, Paging
from shared.ratelimit import per_ip, per_principal_and_ip
from shared.streams import limited_sse_response

router = APIRouter(tags=["notify"])


@router.get(
    "/streams/me",
    summary="The caller's live stream (SSE); resumes after Last-Event-ID",
    response_class=StreamingResponse,
)
async def my_stream(
    request: Request,
    principal: StreamCaller,
    live: Streams,
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
) -> StreamingResponse:
    """Without Last-Event-ID the stream starts at its end (its first frame carries the id to resume after): the
    clients read their state when the stream opens, and 48 hours of history is nobody's view. `Last-Event-ID: 0`
    replays all that is kept."""
    streams = streams_for(principal.role.value, principal.customer_id, principal.technician_id)
    try:
        after = int(last_event_id) if last_event_id else None
    except ValueError:
        after = None
    return limited_sse_response(request, principal, live.follow(streams, after))


# --- recipients and their preferences ----------------------------------------------------------------------


def _changes(body: Preferences) -> PreferenceChanges:
    """The fields the caller sent (a null among them clears a nullable one)."""
    sent: PreferenceChanges = body.model_dump(  # type: ignore[assignment]
        exclude_unset=True, include=set(Preferences.model_fields)
    )
    return sent


@router.post(
    "/recipients",
    dependencies=[Depends(per_principal_and_ip("recipients"))],
    status_code=status.HTTP_201_CREATED,
    response_model=RecipientOut,
    summary="Add a recipient (staff; a customer may add its own contacts)",
)
async def create_recipient(
    body: RecipientIn, principal: Caller, session: Session, request: Request, now: Now
) -> RecipientOut:
    new = NewRecipient(
        kind=body.kind, customer_id=body.customer_id, technician_id=body.technician_id, preferences=_changes(body)
    )
    added = await recipients.add_recipient(session, principal, new, _contact_rules(request, now))
    return RecipientOut.model_validate(added)


def _contact_rules(request: Request, now: datetime) -> recipients.ContactRules:
    settings: Settings = request.app.state.settings
    return recipients.ContactRules(
        max_per_customer=settings.max_recipients_per_customer,
        confirm_url=f"{settings.public_base_url.rstrip('/')}/api/notify/recipients/confirm",
        now=now,
        give_up_after=timedelta(seconds=settings.retry_window_s),
    )


@router.get(
    "/recipients/confirm",
    dependencies=[Depends(per_ip("recipient-confirmation"))],
    response_class=HTMLResponse,
    summary="The page a confirmation link opens (no login): one button confirms the address",
)
async def confirmation_page(token: str = Query(..., max_length=100)) -> HTMLResponse:
    # a GET only shows the button: mail scanners that open links must not confirm on the owner's behalf
    return HTMLResponse(
        '<!doctype html><html><head><meta charset="utf-8"><title>Fieldline</title></head><body>'
        '<form method="post" action="confirm">'
        f'<input type="hidden" name="token" value="{html.escape(token)}">'
        '<button type="submit">Confirm / Подтвердить</button></form></body></html>'
    )


@router.post(
    "/recipients/confirm",
    dependencies=[Depends(per_ip("recipient-confirmation"))],
    response_class=HTMLResponse,
    summary="Confirm an address (the link's single-use token); until then nothing but the confirmation is sent",
)
async def confirm_recipient(session: Session, now: Now, token: str = Form(..., max_length=100)) -> HTMLResponse:
    await recipients.confirm_address(session, token, now)
    return HTMLResponse(
        '<!doctype html><html><head><meta charset="utf-8"><title>Fieldline</title></head><body>'
        "<p>Confirmed. / Адрес подтверждён.</p></body></html>"
    )


@router.get(
    "/recipients",
    response_model=list[RecipientOut],
    summary="Recipients: staff see all; customers their contacts; technicians themselves",
)
async def list_recipients(
    principal: Caller,
    session: Session,
    page: Paging,
    kind: Audience | None = None,
    customer_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
) -> list[RecipientOut]:
    rows = await recipients.recipients_visible_to(session, principal, kind, customer_id, technician_id)
    return [RecipientOut.model_validate(r) for r in page.window(rows)]


@router.get("/recipients/{recipient_id}", response_model=RecipientOut)
async def get_recipient(recipient_id: uuid.UUID, principal: Caller, session: Session) -> RecipientOut:
    return RecipientOut.model_validate(await recipients.recipient(session, principal, recipient_id))


@router.patch(
    "/recipients/{recipient_id}",
    dependencies=[Depends(per_principal_and_ip("recipients"))],
    response_model=RecipientOut,
    summary="Change preferences: language, channels, e-mail, quiet hours and their time zone",
)
async def patch_recipient(
    recipient_id: uuid.UUID, body: Preferences, principal: Caller, session: Session, request: Request, now: Now
) -> RecipientOut:
    rules = _contact_rules(request, now)
    row = await recipients.change_preferences(session, principal, recipient_id, _changes(body), rules)
    return RecipientOut.model_validate(row)


@router.delete(
    "/recipients/{recipient_id}",
    dependencies=[Depends(per_principal_and_ip("recipients"))],
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_recipient(recipient_id: uuid.UUID, principal: Caller, session: Session) -> Response:
    await recipients.remove_recipient(session, principal, recipient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- webhooks ---------------------------------------------------------------------------------------------------


@router.post(
    "/customers/{customer_id}/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    summary="Register a webhook; the signing secret is in this response only",
)
async def create_webhook(
    customer_id: uuid.UUID,
    body: WebhookIn,
    principal: Caller,
    session: Session,
    allow: WebhookAllowList,
    cipher: Cipher,
) -> WebhookCreated:
    ensure_customer_access(principal, customer_id, "customer")
    created = await webhooks.register_webhook(session, allow, cipher, customer_id, body.url, body.language)
    return WebhookCreated.model_validate({**asdict(created.webhook), "secret": created.secret})


@router.get("/customers/{customer_id}/webhooks", response_model=list[WebhookOut])
async def list_webhooks(customer_id: uuid.UUID, principal: Caller, session: Session, page: Paging) -> list[WebhookOut]:
    ensure_customer_access(principal, customer_id, "customer")
    return [WebhookOut.model_validate(r) for r in page.window(await webhooks.webhooks_of(session, customer_id))]


@router.delete(
    "/customers/{customer_id}/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop a webhook (queued deliveries to it fail)",
)
async def delete_webhook(
    customer_id: uuid.UUID, webhook_id: uuid.UUID, principal: Caller, session: Session
) -> Response:
    ensure_customer_access(principal, customer_id, "customer")
    await webhooks.remove_webhook(session, customer_id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/customers/{customer_id}/webhooks/{webhook_id}/rotate-secret",
    response_model=WebhookSecretRotated,
    summary="Replace the signing secret; the new one is in this response only, the old one keeps signing "
    "next to it for the grace period",
)
async def rotate_secret(
    customer_id: uuid.UUID,
    webhook_id: uuid.UUID,
    principal: Caller,
    session: Session,
    cipher: Cipher,
    now: Now,
    body: WebhookSecretRotation | None = None,
) -> WebhookSecretRotated:
    ensure_customer_access(principal, customer_id, "customer")
    grace = timedelta(seconds=(body or WebhookSecretRotation()).grace_period_s)
    rotated = await webhooks.rotate_webhook_secret(session, cipher, customer_id, webhook_id, grace, now)
    return WebhookSecretRotated.model_validate({**asdict(rotated.webhook), "secret": rotated.secret})


# --- the delivery log ---------------------------------------------------------------------------------------------


@router.get("/deliveries", response_model=list[DeliveryOut], summary="The delivery log (dispatchers)")
async def list_deliveries(
    principal: Dispatcher,
    session: Session,
    request_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    source_event_id: uuid.UUID | None = None,
    status_: str | None = Query(None, alias="status", pattern="^(queued|sent|failed|dead)$"),
    channel: str | None = Query(None, pattern="^(email|webhook)$"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
) -> list[DeliveryOut]:
    rows = await delivery_log.deliveries(
        session,
        delivery_log.DeliveryFilter(
            request_id=request_id,
            customer_id=customer_id,
            source_event_id=source_event_id,
            status=status_,
            channel=channel,
            limit=limit,
        ),
    )
    return [DeliveryOut.model_validate(r) for r in rows]


@router.get(
    "/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    summary="One delivery with what was sent and every attempt",
)
async def get_delivery(delivery_id: uuid.UUID, principal: Dispatcher, session: Session) -> DeliveryDetail:
    delivery, attempts = await delivery_log.delivery_with_attempts(session, delivery_id)
    return DeliveryDetail.model_validate(
        {**asdict(delivery), "attempt_log": [DeliveryAttempt.model_validate(a) for a in attempts]}
    )
