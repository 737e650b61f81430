"""The customer's view of the visit to its request: first name, ETA, the position only while en route to this
site, the report once done; never another customer's, never a technician id or internal notes."""

from __future__ import annotations

import uuid

import pytest

from shared.auth import Role
from tests.support.clock import suite_now
from tests.support.polling import eventually

from .conftest import Dispatch
from .test_service import emergency

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it


async def test_the_customer_follows_the_visit_and_reads_the_report(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    customer = uuid.uuid4()
    filed = emergency(uuid.uuid4(), 44.96, 34.11, customer=customer)
    await dispatch.publish(filed)
    booked = await eventually(
        lambda: dispatch.sql("SELECT id FROM dispatch.assignments WHERE request_id = $1", filed.request_id),
        lambda rows: len(rows) == 1,
        what="the emergency is booked",
    )
    assignment = str(booked[0]["id"])
    path = f"/customer/requests/{filed.request_id}/visit"
    mine = dispatch.keys.headers(Role.CUSTOMER, customer_id=customer)
    tech = dispatch.technician(anna)
    now = suite_now()

    def command(**body: object) -> dict[str, object]:
        return {"client_command_id": str(uuid.uuid4()), **body}

    offered = (await dispatch.client.get(path, headers=mine)).json()
    assert (offered["status"], offered["technician_first_name"], offered["position"]) == ("offered", "Anna", None)
    assert offered["eta"] is not None and offered["site"] == {"lat": 44.96, "lon": 34.11, "at": None}

    position = {"lat": 44.955, "lon": 34.105}
    pings = [{"at": now.isoformat(), "position": position}]
    assert (await dispatch.client.post("/me/positions", headers=tech, json=command(pings=pings))).status_code == 200
    accepted = await dispatch.client.post(f"/me/assignments/{assignment}/accept", headers=tech, json=command())
    assert accepted.is_success, accepted.text
    step = command(status="en_route", position=position)
    moved = await dispatch.client.post(f"/me/assignments/{assignment}/status", headers=tech, json=step)
    assert moved.is_success, moved.text
    en_route = (await dispatch.client.get(path, headers=mine)).json()
    assert en_route["status"] == "en_route"
    assert (en_route["position"]["lat"], en_route["position"]["lon"]) == (44.955, 34.105)

    step = command(status="on_site", position={"lat": 44.96, "lon": 34.11})
    assert (await dispatch.client.post(f"/me/assignments/{assignment}/status", headers=tech, json=step)).is_success
    on_site = (await dispatch.client.get(path, headers=mine)).json()
    assert (on_site["status"], on_site["position"], on_site["eta"]) == ("on_site", None, None)

    report = command(
        outcome="completed",
        work_done="Cleaned the condenser",
        notes="customer's manager was rude; check the invoice",
        parts_used=[{"part": "door gasket", "quantity": 1}],
        signed_by="M. Ivanova",
    )
    assert (await dispatch.client.post(f"/me/assignments/{assignment}/report", headers=tech, json=report)).is_success
    done = await dispatch.client.get(path, headers=mine)
    assert done.json()["report"] == {
        "outcome": "completed",
        "work_done": "Cleaned the condenser",
        "parts_used": [{"part": "door gasket", "quantity": 1.0}],
        "signed_by": "M. Ivanova",
    }
    assert "rude" not in done.text and anna not in done.text and "Koval" not in done.text


async def test_nobody_else_sees_the_visit(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    filed = emergency(uuid.uuid4(), 44.96, 34.11, customer=uuid.uuid4())
    await dispatch.publish(filed)
    await eventually(
        lambda: dispatch.sql("SELECT id FROM dispatch.assignments WHERE request_id = $1", filed.request_id),
        lambda rows: len(rows) == 1,
        what="the emergency is booked",
    )
    path = f"/customer/requests/{filed.request_id}/visit"

    stranger = await dispatch.client.get(path, headers=dispatch.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4()))
    technician = await dispatch.client.get(path, headers=dispatch.technician(anna))
    unknown = await dispatch.client.get(
        f"/customer/requests/{uuid.uuid4()}/visit",
        headers=dispatch.keys.headers(Role.CUSTOMER, customer_id=filed.customer_id),
    )

    assert (stranger.status_code, technician.status_code, unknown.status_code) == (404, 404, 404)
