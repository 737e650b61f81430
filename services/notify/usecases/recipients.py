"""Recipients: staff add anyone, a customer its own contacts; people change their own preferences."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.recipients import RecipientRepository
from services.notify.domain.audience import Audience
from services.notify.domain.preferences import is_time_zone
from services.notify.domain.recipients import NewRecipient, PreferenceChanges, Recipient
from shared.auth import Principal, Role
from shared.errors import InvalidInput, NotFound


def ensure_recipient_access(principal: Principal, recipient: Recipient) -> None:
    """Staff see every recipient; a customer its own contacts; a technician themselves; others nothing."""
    if principal.is_staff:
        return
    if (
        principal.role is Role.CUSTOMER
        and recipient.kind == "customer"
        and recipient.customer_id == principal.customer_id
    ):
        return
    if (
        principal.role is Role.TECHNICIAN
        and recipient.kind == "technician"
        and recipient.technician_id == principal.technician_id
    ):
        return
    raise NotFound("recipient not found")


def _checked(values: dict[str, Any], current: Recipient | None = None) -> dict[str, Any]:
    # quiet hours are checked as they will be stored: what changes over what was there
    merged = {
        "quiet_start": current.quiet_start if current else None,
        "quiet_end": current.quiet_end if current else None,
        **values,
    }
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


async def add_recipient(session: AsyncSession, principal: Principal, new: NewRecipient) -> Recipient:
    kind, customer_id, technician_id = new.kind, new.customer_id, new.technician_id
    if principal.role is Role.CUSTOMER:
        if kind is not Audience.CUSTOMER or customer_id not in (None, principal.customer_id):
            raise NotFound("customer not found")
        customer_id = principal.customer_id
    elif not principal.is_staff:
        raise NotFound("not found")
    if kind is Audience.CUSTOMER and customer_id is None:
        raise InvalidInput("customer_id", "a customer's contact names the customer")
    if kind is Audience.TECHNICIAN and technician_id is None:
        raise InvalidInput("technician_id", "a technician recipient names the technician")
    # left-out (or null) preferences take the stored defaults
    values = _checked({k: v for k, v in new.preferences.items() if v is not None})
    values |= {
        "id": uuid.uuid4(),
        "kind": kind,
        **({"customer_id": customer_id} if customer_id else {}),
        **({"technician_id": technician_id} if technician_id else {}),
    }
    return await RecipientRepository(session).add(values)


async def recipients_visible_to(
    session: AsyncSession,
    principal: Principal,
    kind: Audience | None,
    customer_id: uuid.UUID | None,
    technician_id: uuid.UUID | None,
) -> list[Recipient]:
    """Staff filter as they like; customers see their contacts, technicians themselves."""
    if principal.role is Role.CUSTOMER:
        kind, customer_id, technician_id = Audience.CUSTOMER, principal.customer_id, None
    elif principal.role is Role.TECHNICIAN:
        kind, customer_id, technician_id = Audience.TECHNICIAN, None, principal.technician_id
    return await RecipientRepository(session).find(
        kind=kind.value if kind else None, customer_id=customer_id, technician_id=technician_id
    )


async def recipient(session: AsyncSession, principal: Principal, recipient_id: uuid.UUID) -> Recipient:
    found = await RecipientRepository(session).get(recipient_id)
    if found is None:
        raise NotFound("recipient not found")
    ensure_recipient_access(principal, found)
    return found


async def change_preferences(
    session: AsyncSession, principal: Principal, recipient_id: uuid.UUID, changes: PreferenceChanges
) -> Recipient:
    current = await recipient(session, principal, recipient_id)
    values = _checked(dict(changes), current)
    if not values:
        return current
    updated = await RecipientRepository(session).update(recipient_id, values)
    assert updated is not None
    return updated


async def remove_recipient(session: AsyncSession, principal: Principal, recipient_id: uuid.UUID) -> None:
    await recipient(session, principal, recipient_id)
    await RecipientRepository(session).remove(recipient_id)
