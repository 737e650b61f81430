"""Visit report attachments through the API: a technician's photos and the customer's signature, stored once per
device-made id, refused when too big, of the wrong type or on someone else's visit; read by the dispatcher and
by the job's own customer (an allow-listed report), by nobody else."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import httpx
import pytest
from PIL import Image

from shared.auth import Role
from tests.support.polling import eventually

from .conftest import Clock, Dispatch
from .test_breaks_and_contacts import BESIDE_THE_SITE, booked, emergency


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (120, 40), (255, 255, 255, 0)).save(out, "PNG")
    return out.getvalue()


async def command(dispatch: Dispatch, tech: str, path: str, **body: object) -> httpx.Response:
    response = await dispatch.client.post(
        f"/me/assignments/{path}",
        headers=dispatch.technician(tech),
        json={"client_command_id": str(uuid.uuid4()), **body},
    )
    assert response.status_code == 200, response.text
    return response


async def on_site_job(dispatch: Dispatch, clock: Clock) -> tuple[str, str, str, str]:
    """(technician, assignment, request, customer) of an emergency the technician is on site at."""
    tech = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE)
    request = emergency(clock.now)
    await dispatch.publish(request)
    await booked(dispatch, request)
    rows = await dispatch.sql("SELECT id::text FROM dispatch.assignments WHERE request_id = $1", request.request_id)
    assignment = rows[0]["id"]
    await command(dispatch, tech, f"{assignment}/accept")
    await command(dispatch, tech, f"{assignment}/status", status="en_route")
    clock.advance(timedelta(minutes=5))
    await command(dispatch, tech, f"{assignment}/status", status="on_site")
    clock.advance(timedelta(minutes=45))
    return tech, assignment, str(request.request_id), str(request.customer_id)


async def upload(
    dispatch: Dispatch, tech: str, assignment: str, content: bytes, content_type: str = "image/jpeg", **params: str
) -> tuple[str, httpx.Response]:
    attachment_id = params.pop("attachment_id", str(uuid.uuid4()))
    response = await dispatch.client.put(
        f"/me/assignments/{assignment}/attachments/{attachment_id}",
        headers={**dispatch.technician(tech), "Content-Type": content_type},
        params={"kind": "photo", **params},
        content=content,
    )
    return attachment_id, response


async def test_a_signed_report_with_a_photo_is_seen_by_the_dispatcher_and_by_its_customer_only(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    tech, assignment, request_id, customer_id = await on_site_job(dispatch, clock)
    photo = jpeg()
    photo_id, stored = await upload(dispatch, tech, assignment, photo, taken_at=clock.now.isoformat())
    assert stored.status_code == 201, stored.text
    _, replayed = await upload(dispatch, tech, assignment, photo, attachment_id=photo_id)
    assert replayed.status_code == 200 and replayed.json()["id"] == photo_id  # an offline queue's replay: no copy
    signature_id, signed = await upload(dispatch, tech, assignment, png(), "image/png", kind="signature")
    assert signed.status_code == 201, signed.text

    await command(
        dispatch,
        tech,
        f"{assignment}/report",
        outcome="completed",
        work_done="Replaced the condenser fan motor",
        parts_used=[{"part": "FAN-M-220", "quantity": 1}],
        checklist=[{"item": "Temperature back to +3 °C", "done": True}],
        notes="internal: customer asked about a discount",
        signed_by="Marina Ivanova",
        attachment_ids=[photo_id, signature_id],
    )

    seen = await dispatch.client.get(f"/requests/{request_id}/visit-report", headers=dispatch.dispatcher)
    assert seen.status_code == 200, seen.text
    report = seen.json()
    assert report["status"] == "completed" and report["signed_by"] == "Marina Ivanova"
    assert report["minutes_on_site"] == 45 and report["technician_id"] == tech
    assert report["parts_used"] == [{"part": "FAN-M-220", "quantity": 1}]
    assert {a["kind"] for a in report["attachments"]} == {"photo", "signature"}

    customer = dispatch.keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(customer_id))
    theirs = (await dispatch.client.get(f"/requests/{request_id}/visit-report", headers=customer)).json()
    assert theirs["work_done"] == "Replaced the condenser fan motor" and len(theirs["attachments"]) == 2
    assert "technician_id" not in theirs and "notes" not in theirs  # an allow-listed projection
    picture = await dispatch.client.get(f"/attachments/{photo_id}", headers=customer)
    assert picture.status_code == 200 and picture.content == photo
    assert picture.headers["content-type"] == "image/jpeg" and picture.headers["x-content-type-options"] == "nosniff"

    stranger = dispatch.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4())
    assert (await dispatch.client.get(f"/attachments/{photo_id}", headers=stranger)).status_code == 404
    assert (await dispatch.client.get(f"/requests/{request_id}/visit-report", headers=stranger)).status_code == 404
    other_tech = await dispatch.add_technician("Oleg Petrov", 45.0, 34.0)
    assert (
        await dispatch.client.get(f"/attachments/{photo_id}", headers=dispatch.technician(other_tech))
    ).status_code == 404
    rows = await dispatch.sql("SELECT count(*) AS n FROM dispatch.attachment_blobs WHERE key LIKE $1", f"%{photo_id}")
    assert rows[0]["n"] == 1


async def test_uploads_that_break_a_rule_are_refused_with_a_problem_naming_the_field(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    tech, assignment, *_ = await on_site_job(dispatch, clock)

    async def refused(status: int, field: str, *args: object, **params: str) -> None:
        _, response = await upload(dispatch, *args, **params)  # type: ignore[arg-type]
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in response.json()["detail"]

    await refused(413, "body", tech, assignment, b"\xff\xd8\xff" + b"0" * 1_600_000)
    await refused(415, "content-type", tech, assignment, b"%PDF-1.7", "application/pdf")
    await refused(422, "body", tech, assignment, b"<svg/>", "image/png")  # not what it claims to be
    await refused(422, "body", tech, assignment, b"", "image/jpeg")
    await refused(422, "kind", tech, assignment, jpeg(), kind="selfie")
    await refused(422, "taken_at", tech, assignment, jpeg(), taken_at="2030-03-04T08:00:00")  # which 08:00?
    other_tech = await dispatch.add_technician("Oleg Petrov", 45.0, 34.0)
    await refused(404, "assignment", other_tech, assignment, jpeg())  # not their visit: it does not exist for them
    customer = dispatch.keys.headers(Role.CUSTOMER, customer_id=uuid.uuid4())
    response = await dispatch.client.put(
        f"/me/assignments/{assignment}/attachments/{uuid.uuid4()}",
        headers={**customer, "Content-Type": "image/jpeg"},
        content=jpeg(),
    )
    assert response.status_code == 403


async def test_position_pings_keep_the_device_time_and_the_time_the_server_got_them(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    tech = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE)
    taken = clock.now - timedelta(minutes=20)  # sent from a queue that was offline for a while
    response = await dispatch.client.post(
        "/me/positions",
        headers=dispatch.technician(tech),
        json={
            "client_command_id": str(uuid.uuid4()),
            "pings": [{"at": taken.isoformat(), "position": {"lat": 44.9, "lon": 34.1}}],
        },
    )
    assert response.status_code == 200, response.text

    async def stored() -> list[object] | None:
        rows = await dispatch.sql(
            "SELECT at, received_at FROM dispatch.position_pings WHERE technician_id = $1::uuid", tech
        )
        return list(rows) or None

    rows = await eventually(stored, what="the ping is stored")
    assert rows[0]["at"] == taken and rows[0]["received_at"] == clock.now  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/me/break", {"on_break": True, "at": "2030-03-04T08:00:00"}),
        ("/me/positions", {"pings": [{"at": "2030-03-04T08:00:00", "position": {"lat": 44.9, "lon": 34.1}}]}),
    ],
)
async def test_a_device_time_without_an_offset_is_refused_naming_the_field(
    clocked_dispatch: Dispatch, path: str, body: dict[str, object]
) -> None:
    # it used to meet the aware clock in a comparison and answer 500
    tech = await clocked_dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE)
    response = await clocked_dispatch.client.post(
        path, headers=clocked_dispatch.technician(tech), json={"client_command_id": str(uuid.uuid4()), **body}
    )
    assert response.status_code == 422, response.text
    assert "at" in response.text and response.headers["content-type"].startswith("application/problem+json")
