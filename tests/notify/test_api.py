"""Recipients and preferences over HTTP: staff manage everyone, people manage only their own."""

from __future__ import annotations

import uuid

from shared.auth import Role
from tests.notify.conftest import Notify


async def test_staff_add_recipients_and_customers_manage_their_own_contacts(notify: Notify) -> None:
    customer, other = uuid.uuid4(), uuid.uuid4()
    mine = notify.keys.headers(Role.CUSTOMER, customer_id=customer)
    staff_added = await notify.add_recipient(kind="customer", customer_id=str(customer), email="a@shop.example")
    assert staff_added["language"] == "ru" and staff_added["channels"] == ["email"]
    assert staff_added["time_zone"] == "Europe/Simferopol" and staff_added["quiet_start"] is None

    # a customer adds a contact: always for itself, whatever it names
    added = await notify.api.post(
        "/recipients", headers=mine, json={"kind": "customer", "email": "b@shop.example", "language": "en"}
    )
    assert added.status_code == 201, added.text
    assert added.json()["customer_id"] == str(customer)
    assert (
        await notify.api.post(
            "/recipients", headers=mine, json={"kind": "customer", "customer_id": str(other), "email": "x@evil.example"}
        )
    ).status_code == 404
    assert (
        await notify.api.post("/recipients", headers=mine, json={"kind": "dispatcher", "email": "x@evil.example"})
    ).status_code == 404

    listed = (await notify.api.get("/recipients", headers=mine)).json()
    assert {r["email"] for r in listed} == {"a@shop.example", "b@shop.example"}

    # self-service preferences: language, quiet hours in their zone; partial updates keep the rest
    changed = await notify.api.patch(
        f"/recipients/{staff_added['id']}",
        headers=mine,
        json={"language": "en", "time_zone": "Europe/Moscow", "quiet_start": "22:00", "quiet_end": "07:00"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["language"], body["time_zone"], body["quiet_start"], body["quiet_end"], body["email"]) == (
        "en",
        "Europe/Moscow",
        "22:00:00",
        "07:00:00",
        "a@shop.example",
    )
    cleared = (
        await notify.api.patch(
            f"/recipients/{staff_added['id']}",
            headers=mine,
            json={"quiet_start": None, "quiet_end": None, "channels": []},
        )
    ).json()
    assert cleared["quiet_start"] is None and cleared["channels"] == [] and cleared["language"] == "en"

    stranger = notify.keys.headers(Role.CUSTOMER, customer_id=other)
    assert (await notify.api.get(f"/recipients/{staff_added['id']}", headers=stranger)).status_code == 404
    assert (
        await notify.api.patch(f"/recipients/{staff_added['id']}", headers=stranger, json={"language": "ru"})
    ).status_code == 404
    assert (await notify.api.get("/recipients", headers=stranger)).json() == []
    assert (await notify.api.delete(f"/recipients/{added.json()['id']}", headers=mine)).status_code == 204
    assert (await notify.api.get(f"/recipients/{added.json()['id']}", headers=notify.staff())).status_code == 404


async def test_preferences_are_validated_field_by_field(notify: Notify) -> None:
    technician = uuid.uuid4()
    me = notify.keys.headers(Role.TECHNICIAN, technician_id=technician)
    recipient = await notify.add_recipient(kind="technician", technician_id=str(technician), email="t@f.example")
    cases = [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"quiet_start": "22:00"}, "quiet_end"),
        ({"language": "de"}, "language"),
        ({"channels": ["sms"]}, "channels.0"),
        ({"email": "not-an-address"}, "email"),
        ({"language": None}, "language"),
    ]
    for body, field in cases:
        response = await notify.api.patch(f"/recipients/{recipient['id']}", headers=me, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field, (body, response.json())
    assert (
        await notify.api.post(
            "/recipients", headers=notify.staff(), json={"kind": "technician", "email": "t@f.example"}
        )
    ).json()["errors"][0]["field"] == "technician_id"
    assert (await notify.api.patch(f"/recipients/{recipient['id']}", headers=me, json={"language": "en"})).json()[
        "language"
    ] == "en"
    other_technician = notify.keys.headers(Role.TECHNICIAN, technician_id=uuid.uuid4())
    assert (await notify.api.get(f"/recipients/{recipient['id']}", headers=other_technician)).status_code == 404


async def test_the_delivery_log_is_for_dispatchers(notify: Notify) -> None:
    assert (await notify.api.get("/deliveries")).status_code == 401
    assert (
        await notify.api.get("/deliveries", headers=notify.keys.headers(Role.TECHNICIAN, technician_id=uuid.uuid4()))
    ).status_code == 403
    assert (await notify.api.get("/deliveries", headers=notify.staff())).status_code == 200
    assert (await notify.api.get(f"/deliveries/{uuid.uuid4()}", headers=notify.staff())).status_code == 404
    assert (await notify.api.get("/deliveries", params={"status": "lost"}, headers=notify.staff())).status_code == 422


async def test_a_nul_in_a_name_is_refused_naming_the_field_and_instants_are_utc_z(notify: Notify) -> None:
    refused = await notify.api.post(
        "/recipients", headers=notify.staff(), json={"kind": "dispatcher", "name": "Ol\x00ga", "email": "o@x.example"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"] == "name"
    added = await notify.add_recipient(kind="dispatcher", name="Olga", email="olga@x.example")
    assert added["created_at"].endswith("Z") and added["updated_at"].endswith("Z"), added
