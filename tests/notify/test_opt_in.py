"""Addresses a customer adds: double opt-in, a cap per customer, one strict address per field (issue 16)."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.auth import Role
from tests.notify.conftest import Notify
from tests.notify.support import customer_request, publish
from tests.support.polling import eventually


async def test_an_address_a_customer_adds_gets_only_its_confirmation_until_confirmed_once(notify: Notify) -> None:
    customer = uuid.uuid4()
    mine = notify.keys.headers(Role.CUSTOMER, customer_id=customer)
    vouched = f"office-{customer.hex[:6]}@shop.example"
    pending = f"friend-{customer.hex[:6]}@elsewhere.example"
    await notify.add_recipient(kind="customer", customer_id=str(customer), email=vouched, language="en")
    added = await notify.api.post("/recipients", headers=mine, json={"kind": "customer", "email": pending})
    assert added.status_code == 201, added.text
    assert added.json()["confirmed_at"] is None

    [confirmation] = await eventually(lambda: _mail_to(notify, pending), what="the confirmation e-mail")
    body = confirmation.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    link = re.search(r"(https?://\S+/recipients/confirm\?token=(\S+))", text)
    assert link is not None, text
    token = link.group(2)

    # dispatchers see that the confirmation went out, never the link (it would confirm the address for them)
    listed = await notify.api.get("/deliveries", headers=notify.staff(), params={"customer_id": str(customer)})
    [sent] = [d for d in listed.json() if d["address"] == pending]
    detail = await notify.api.get(f"/deliveries/{sent['id']}", headers=notify.staff())
    assert detail.status_code == 200 and token not in detail.text

    first = await publish(notify.js, customer_request(customer))
    await eventually(lambda: notify.deliveries(first), what="the request's notices queued")
    assert {d["address"] for d in await notify.deliveries(first)} == {vouched}

    page = await notify.api.get("/recipients/confirm", params={"token": token})
    assert page.status_code == 200 and 'method="post"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    confirmed = await notify.api.post("/recipients/confirm", data={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    again = await notify.api.post("/recipients/confirm", data={"token": token})
    assert again.status_code == 404

    second = await publish(notify.js, customer_request(customer))
    await eventually(
        lambda: notify.deliveries(second),
        lambda rows: {d["address"] for d in rows} == {vouched, pending},
        what="both addresses notified once confirmed",
    )


async def _mail_to(notify: Notify, address: str) -> list[object]:
    return notify.inbox.to(address)  # type: ignore[return-value]


@pytest.mark.parametrize(
    "address",
    [
        "a@shop.example,b@evil.example",
        "a,b@shop.example",
        "a@shop.example; b@evil.example",
        "Boss <a@shop.example>",
        '"a b"@shop.example',
        "a@shop",
        "a@@shop.example",
        "a@shop.example\nBcc: b@evil.example",
    ],
)
async def test_one_field_is_one_plain_address(notify: Notify, address: str) -> None:
    mine = notify.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4())
    refused = await notify.api.post("/recipients", headers=mine, json={"kind": "customer", "email": address})
    assert refused.status_code == 422, refused.text
    assert any(e["field"] == "email" for e in refused.json()["errors"])


async def test_a_customer_has_at_most_the_configured_number_of_contacts(notify: Notify) -> None:
    customer = uuid.uuid4()
    cap = notify.settings.max_recipients_per_customer
    for n in range(cap):
        await notify.add_recipient(kind="customer", customer_id=str(customer), email=f"c{n}@shop.example")
    mine = notify.keys.headers(Role.CUSTOMER, customer_id=customer)
    over = await notify.api.post("/recipients", headers=mine, json={"kind": "customer", "email": "one@more.example"})
    assert over.status_code == 409, over.text
    assert (await notify.api.get("/recipients", headers=mine)).json().__len__() == cap
