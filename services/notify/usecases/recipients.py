"""Recipients: staff add anyone, a customer its own contacts; people change their own preferences."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db.deliveries import DeliveryRepository
from services.notify.db.recipients import RecipientRepository
from services.notify.domain.audience import Audience
from services.notify.domain.mailbox import address_problem
from services.notify.domain.opt_in import confirmation_message, new_confirmation_token, token_hash
from services.notify.domain.preferences import is_time_zone
from services.notify.domain.recipients import NewRecipient, PreferenceChanges, Recipient
from shared.auth import Principal, Role
from shared.errors import Conflict, InvalidInput, NotFound


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
    if values.get("email") is not None:
        values["email"] = values["email"].strip()
        if problem := address_problem(values["email"]):
            raise InvalidInput("email", problem)
    return values


@dataclass(frozen=True)
class ContactRules:
    """What holds for the addresses customers add: a cap per customer and double opt-in."""

    max_per_customer: int
    confirm_url: str  # the page the confirmation link opens; the token is appended as ?token=
    now: datetime
    give_up_after: timedelta


async def _ask_for_confirmation(session: AsyncSession, added: Recipient, token: str, rules: ContactRules) -> None:
    """Queue the confirmation e-mail: the only thing sent to a pending address."""
    assert added.email is not None
    deliveries = DeliveryRepository(session)
    await deliveries.add(
        {
            "id": uuid.uuid4(),
            "source_event_id": uuid.uuid4(),
            "event_type": "notify.recipient.confirmation",
            "template": "recipient_confirmation",
            "channel": "email",
            "target": f"recipient:{added.id}",
            "recipient_id": added.id,
            "address": added.email,
            "customer_id": added.customer_id,
            "language": added.language,
            "urgent": True,
            "content": confirmation_message(added.language, f"{rules.confirm_url}?{urlencode({'token': token})}"),
            "next_attempt_at": rules.now,
            "give_up_at": rules.now + rules.give_up_after,
        }
    )
    await deliveries.wake_senders()


async def add_recipient(
    session: AsyncSession, principal: Principal, new: NewRecipient, rules: ContactRules
) -> Recipient:
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
    repo = RecipientRepository(session)
    if kind is Audience.CUSTOMER and customer_id is not None:
        if await repo.count_of_customer(customer_id) >= rules.max_per_customer:
            raise Conflict(f"a customer may have at most {rules.max_per_customer} contacts; remove one first")
    token = None
    if principal.role is Role.CUSTOMER and values.get("email"):
        token, values["confirmation_token_hash"] = new_confirmation_token()
    else:
        values["confirmed_at"] = rules.now  # staff vouch for the addresses they add
    added = await repo.add(values)
    if token is not None:
        await _ask_for_confirmation(session, added, token, rules)
    return added


async def confirm_address(session: AsyncSession, token: str, now: datetime) -> Recipient:
    """The address's owner followed the link: from now on it gets what its preferences say. Single use."""
    confirmed = await RecipientRepository(session).confirm(token_hash(token), now)
    if confirmed is None:
        raise NotFound("this confirmation link is unknown or was already used")
    return confirmed


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
    session: AsyncSession,
    principal: Principal,
    recipient_id: uuid.UUID,
    changes: PreferenceChanges,
    rules: ContactRules,
) -> Recipient:
    current = await recipient(session, principal, recipient_id)
    values = _checked(dict(changes), current)
    if not values:
        return current
    token = None
    if principal.role is Role.CUSTOMER and values.get("email") and values["email"] != current.email:
        # a new address a customer typed is pending again until its owner confirms it
        token, values["confirmation_token_hash"] = new_confirmation_token()
        values["confirmed_at"] = None
    updated = await RecipientRepository(session).update(recipient_id, values)
    assert updated is not None
    if token is not None:
        await _ask_for_confirmation(session, updated, token, rules)
    return updated


async def remove_recipient(session: AsyncSession, principal: Principal, recipient_id: uuid.UUID) -> None:
    await recipient(session, principal, recipient_id)
    await RecipientRepository(session).remove(recipient_id)
