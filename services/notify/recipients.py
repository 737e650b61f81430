"""Use cases for recipients (staff, and people's own preferences) and customers' webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.notify.api.schemas import Preferences, RecipientIn
from services.notify.db.repository import NotifyRepository
from services.notify.domain.addresses import AllowList, UnsafeTarget, check_registration
from services.notify.domain.audience import Audience
from services.notify.domain.preferences import is_time_zone
from services.notify.domain.signing import new_secret
from services.notify.secrets_at_rest import SecretCipher
from shared.auth import Principal, Role
from shared.db import Database
from shared.errors import Conflict, InvalidInput, NotFound

MAX_WEBHOOKS_PER_CUSTOMER = 10


def ensure_recipient_access(principal: Principal, row: dict[str, Any]) -> None:
    """Staff see every recipient; a customer its own contacts; a technician themselves; others nothing."""
    if principal.is_staff:
        return
    if principal.role is Role.CUSTOMER and row["kind"] == "customer" and row["customer_id"] == principal.customer_id:
        return
    if principal.role is Role.TECHNICIAN and row["kind"] == "technician" \
            and row["technician_id"] == principal.technician_id:
        return
    raise NotFound("recipient not found")


def _checked(values: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = {**(current or {}), **values}
    if "time_zone" in values and (values["time_zone"] is None or not is_time_zone(values["time_zone"])):
        raise InvalidInput("time_zone", "not an IANA time zone (e.g. Europe/Simferopol)")
    if (merged.get("quiet_start") is None) != (merged.get("quiet_end") is None):
        raise InvalidInput("quiet_end", "quiet hours need both a start and an end")
    for field in ("language", "channels", "active", "name"):
        if field in values and values[field] is None:
            raise InvalidInput(field, "may not be null")
    if "channels" in values:
        values["channels"] = sorted(set(values["channels"]))
    return values


async def add_recipient(db: Database, principal: Principal, body: RecipientIn) -> dict[str, Any]:
    if principal.role is Role.CUSTOMER:
        if body.kind is not Audience.CUSTOMER or body.customer_id not in (None, principal.customer_id):
            raise NotFound("customer not found")
        body = body.model_copy(update={"customer_id": principal.customer_id})
    elif not principal.is_staff:
        raise NotFound("not found")
    if body.kind is Audience.CUSTOMER and body.customer_id is None:
        raise InvalidInput("customer_id", "a customer's contact names the customer")
    if body.kind is Audience.TECHNICIAN and body.technician_id is None:
        raise InvalidInput("technician_id", "a technician recipient names the technician")
    values = _checked(body.model_dump(exclude_unset=True, exclude_none=True))
    values["id"] = uuid.uuid4()
    async with db.transaction() as session:
        return await NotifyRepository(session).add_recipient(values)


async def change_preferences(db: Database, principal: Principal, recipient_id: uuid.UUID,
                             body: Preferences) -> dict[str, Any]:
    async with db.transaction() as session:
        repo = NotifyRepository(session)
        row = await repo.recipient(recipient_id)
        if row is None:
            raise NotFound("recipient not found")
        ensure_recipient_access(principal, row)
        values = _checked(body.model_dump(exclude_unset=True), row)
        if not values:
            return row
        updated = await repo.update_recipient(recipient_id, values)
    assert updated is not None
    return updated


async def register_webhook(db: Database, allow: AllowList, cipher: SecretCipher, customer_id: uuid.UUID, url: str,
                           language: str) -> dict[str, Any]:
    """The new webhook with its secret in plain text (the only time it is shown); stored encrypted."""
    try:
        target = check_registration(url, allow)
    except UnsafeTarget as exc:
        raise InvalidInput("url", str(exc)) from None
    secret = new_secret()
    async with db.transaction() as session:
        repo = NotifyRepository(session)
        if len(await repo.webhooks_of(customer_id, active_only=True)) >= MAX_WEBHOOKS_PER_CUSTOMER:
            raise Conflict(f"a customer may register at most {MAX_WEBHOOKS_PER_CUSTOMER} webhooks")
        row = await repo.add_webhook({"id": uuid.uuid4(), "customer_id": customer_id, "url": target.url,
                                      "secret": cipher.encrypt(secret), "language": language})
    return {**row, "secret": secret}


async def rotate_webhook_secret(db: Database, cipher: SecretCipher, customer_id: uuid.UUID, webhook_id: uuid.UUID,
                                grace: timedelta, now: datetime) -> dict[str, Any]:
    """A new secret (returned in plain text, once); the current one keeps signing too for `grace`.

    Only two secrets sign at a time: rotating again during a grace period drops the older one at once.
    """
    secret = new_secret()
    async with db.transaction() as session:
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
