"""Customers' webhooks: registration behind the SSRF guard, listing, removal, secret rotation, and bringing
the stored secrets under the first key of `webhook_secret_keys`."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.repository import NotifyRepository
from services.notify.domain.addresses import AllowList, UnsafeTarget, check_registration
from services.notify.domain.secret_cipher import SecretCipher
from services.notify.domain.signing import new_secret
from shared.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_CUSTOMER = 10


async def register_webhook(session: AsyncSession, allow: AllowList, cipher: SecretCipher, customer_id: uuid.UUID,
                           url: str, language: str) -> dict[str, Any]:
    """The new webhook with its secret in plain text (the only time it is shown); stored encrypted."""
    try:
        target = check_registration(url, allow)
    except UnsafeTarget as exc:
        raise InvalidInput("url", str(exc)) from None
    secret = new_secret()
    repo = NotifyRepository(session)
    if len(await repo.webhooks_of(customer_id, active_only=True)) >= MAX_WEBHOOKS_PER_CUSTOMER:
        raise Conflict(f"a customer may register at most {MAX_WEBHOOKS_PER_CUSTOMER} webhooks")
    row = await repo.add_webhook({"id": uuid.uuid4(), "customer_id": customer_id, "url": target.url,
                                  "secret": cipher.encrypt(secret), "language": language})
    return {**row, "secret": secret}


async def webhooks_of(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    return await NotifyRepository(session).webhooks_of(customer_id)


async def remove_webhook(session: AsyncSession, customer_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
    """Stop a webhook; its queued deliveries then fail for good."""
    repo = NotifyRepository(session)
    row = await repo.webhook(webhook_id)
    if row is None or row["customer_id"] != customer_id:
        raise NotFound("webhook not found")
    await repo.deactivate_webhook(webhook_id)


async def rotate_webhook_secret(session: AsyncSession, cipher: SecretCipher, customer_id: uuid.UUID,
                                webhook_id: uuid.UUID, grace: timedelta, now: datetime) -> dict[str, Any]:
    """A new secret (returned in plain text, once); the current one keeps signing too for `grace`.

    Only two secrets sign at a time: rotating again during a grace period drops the older one at once.
    """
    secret = new_secret()
    repo = NotifyRepository(session)
    row = await repo.webhook(webhook_id, for_update=True)  # concurrent rotations queue here
    if row is None or row["customer_id"] != customer_id:
        raise NotFound("webhook not found")
    if not row["active"]:
        raise Conflict("the webhook was removed")
    keep_old = grace > timedelta(0)
    rotated = await repo.rotate_webhook_secret(
        webhook_id, cipher.encrypt(secret), previous_secret=row["secret"] if keep_old else None,
        previous_secret_expires_at=now + grace if keep_old else None, rotated_at=now)
    return {**rotated, "secret": secret}


@dataclass(frozen=True)
class ReencryptedPage:
    moved: int  # webhooks whose secrets were re-encrypted
    last_id: uuid.UUID | None  # where the next page starts; None when this one was the last


async def reencrypt_page(session: AsyncSession, cipher: SecretCipher, after: uuid.UUID | None,
                         limit: int) -> ReencryptedPage:
    """Move one page of stored secrets that an older key encrypted to the first key (rows stay locked until the
    caller commits). Rows none of the keys can open are left alone and logged: their deliveries fail until the
    key is restored."""
    repo = NotifyRepository(session)
    rows = await repo.webhook_secrets_after(after, limit)
    moved = 0
    for row in rows:
        changes: dict[str, str] = {}
        for column in ("secret", "previous_secret"):
            token = row[column]
            if token is None or cipher.under_primary_key(token):
                continue
            try:
                changes[column] = cipher.reencrypt(token)
            except InvalidToken:
                log.error("webhook %s: its %s opens with none of the configured keys", row["id"], column)
        if changes:
            await repo.replace_webhook_secrets(row["id"], changes)
            moved += 1
    return ReencryptedPage(moved, rows[-1]["id"] if len(rows) == limit else None)
