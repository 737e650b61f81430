"""Customers' webhooks: registration behind the SSRF guard, listing, removal, secret rotation, and bringing
the stored secrets under the first key of `webhook_secret_keys`."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.webhooks import WebhookRepository
from services.notify.domain.addresses import AllowList, UnsafeTarget, check_registration
from services.notify.domain.secret_cipher import SecretCipher
from services.notify.domain.signing import new_secret
from services.notify.domain.webhooks import Webhook, WebhookWithSecret
from shared.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_CUSTOMER = 10


async def register_webhook(
    session: AsyncSession, allow: AllowList, cipher: SecretCipher, customer_id: uuid.UUID, url: str, language: str
) -> WebhookWithSecret:
    """The new webhook with its secret in plain text (the only time it is shown); stored encrypted."""
    try:
        target = check_registration(url, allow)
    except UnsafeTarget as exc:
        raise InvalidInput("url", str(exc)) from None
    secret = new_secret()
    repo = WebhookRepository(session)
    if len(await repo.of_customer(customer_id, active_only=True)) >= MAX_WEBHOOKS_PER_CUSTOMER:
        raise Conflict(f"a customer may register at most {MAX_WEBHOOKS_PER_CUSTOMER} webhooks")
    webhook = await repo.add(
        {
            "id": uuid.uuid4(),
            "customer_id": customer_id,
            "url": target.url,
            "secret": cipher.encrypt(secret),
            "language": language,
        }
    )
    return WebhookWithSecret(webhook, secret)


async def webhooks_of(session: AsyncSession, customer_id: uuid.UUID) -> list[Webhook]:
    return await WebhookRepository(session).of_customer(customer_id)


async def remove_webhook(session: AsyncSession, customer_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Stop a webhook; its queued deliveries then fail for good."""
    repo = WebhookRepository(session)
    webhook = await repo.get(webhook_id)
    if webhook is None or webhook.customer_id != customer_id:
        raise NotFound("webhook not found")
    await repo.deactivate(webhook_id)


async def rotate_webhook_secret(
    session: AsyncSession,
    cipher: SecretCipher,
    customer_id: uuid.UUID,
    webhook_id: uuid.UUID,
    grace: timedelta,
    now: datetime,
) -> WebhookWithSecret:
    """A new secret (returned in plain text, once); the current one keeps signing too for `grace`.

    Only two secrets sign at a time: rotating again during a grace period drops the older one at once.
    """
    secret = new_secret()
    repo = WebhookRepository(session)
    webhook = await repo.get(webhook_id, for_update=True)  # concurrent rotations queue here
    if webhook is None or webhook.customer_id != customer_id:
        raise NotFound("webhook not found")
    if not webhook.active:
        raise Conflict("the webhook was removed")
    keep_old = grace > timedelta(0)
    rotated = await repo.rotate_secret(
        webhook_id,
        cipher.encrypt(secret),
        previous_secret=webhook.secret if keep_old else None,
        previous_secret_expires_at=now + grace if keep_old else None,
        rotated_at=now,
    )
    return WebhookWithSecret(rotated, secret)


@dataclass(frozen=True)
class ReencryptedPage:
    moved: int  # webhooks whose secrets were re-encrypted
    last_id: uuid.UUID | None  # where the next page starts; None when this one was the last


async def reencrypt_page(
    session: AsyncSession, cipher: SecretCipher, after: uuid.UUID | None, limit: int
) -> ReencryptedPage:
    """Move one page of stored secrets that an older key encrypted to the first key (rows stay locked until the
    caller commits). Rows none of the keys can open are left alone and logged: their deliveries fail until the
    key is restored."""
    repo = WebhookRepository(session)
    rows = await repo.secrets_after(after, limit)
    moved = 0
    for row in rows:
        changes: dict[str, str] = {}
        for column, token in (("secret", row.secret), ("previous_secret", row.previous_secret)):
            if token is None or cipher.under_primary_key(token):
                continue
            try:
                changes[column] = cipher.reencrypt(token)
            except InvalidToken:
                log.error("webhook %s: its %s opens with none of the configured keys", row.id, column)
        if changes:
            await repo.replace_secrets(row.id, changes)
            moved += 1
    return ReencryptedPage(moved, rows[-1].id if len(rows) == limit else None)
