"""Invalid text (NUL, lone surrogates) in any string of a body is a 422 naming the field, never a 500 (issue 16)."""

from __future__ import annotations

import uuid

from tests.notify.conftest import Notify


async def test_a_lone_surrogate_in_a_recipient_is_a_422_naming_the_field(notify: Notify) -> None:
    body = f'{{"kind": "customer", "customer_id": "{uuid.uuid4()}", "email": "a@shop.example", "name": "\\ud83d"}}'
    response = await notify.api.post(
        "/recipients", headers={**notify.staff(), "content-type": "application/json"}, content=body.encode()
    )
    assert response.status_code == 422, response.text
    assert "name" in [e["field"] for e in response.json()["errors"]]


async def test_a_lone_surrogate_in_a_time_zone_is_a_422_naming_the_field(notify: Notify) -> None:
    body = f'{{"kind": "customer", "customer_id": "{uuid.uuid4()}", "email": "b@shop.example", "time_zone": "\\udfff"}}'
    response = await notify.api.post(
        "/recipients", headers={**notify.staff(), "content-type": "application/json"}, content=body.encode()
    )
    assert response.status_code == 422, response.text
    assert "time_zone" in [e["field"] for e in response.json()["errors"]]
