"""Customers' photos of what is wrong: added to their own open request, once per device-made id, read back by the
customer and by staff, never by another customer; bad pictures are refused naming why. Real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid

from tests.requests.conftest import RequestsService

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _put(
    service: RequestsService, request_id: object, photo_id: object, body: bytes, headers: dict[str, str], media: str
) -> tuple[int, dict[str, object]]:
    response = await service.client.put(
        f"/requests/{request_id}/photos/{photo_id}", content=body, headers={**headers, "content-type": media}
    )
    return response.status_code, response.json()


async def test_a_customer_adds_a_photo_once_and_it_is_read_by_them_and_staff_only(service: RequestsService) -> None:
    customer, stranger = uuid.uuid4(), uuid.uuid4()
    filed = await service.file(customer, service.contracts.add_site(customer))
    mine = service.customer(customer)
    photo = uuid.uuid4()

    status, first = await _put(service, filed["id"], photo, JPEG, mine, "image/jpeg")
    assert status == 201 and first["content_type"] == "image/jpeg" and first["size_bytes"] == len(JPEG)
    status, again = await _put(service, filed["id"], photo, PNG, mine, "image/png")  # a retry: the stored one
    assert status == 200 and again == first

    for headers in (mine, service.dispatcher()):
        listed = await service.client.get(f"/requests/{filed['id']}/photos", headers=headers)
        assert [p["id"] for p in listed.json()] == [str(photo)]
        picture = await service.client.get(f"/{listed.json()[0]['url']}", headers=headers)
        assert picture.status_code == 200 and picture.content == JPEG
        assert picture.headers["content-type"] == "image/jpeg"
        assert picture.headers["x-content-type-options"] == "nosniff"

    theirs = service.customer(stranger)
    assert (await service.client.get(f"/requests/{filed['id']}/photos", headers=theirs)).status_code == 404
    assert (await service.client.get(f"/requests/{filed['id']}/photos/{photo}", headers=theirs)).status_code == 404
    status, _ = await _put(service, filed["id"], uuid.uuid4(), JPEG, theirs, "image/jpeg")
    assert status == 404
    listed = await service.client.get(f"/requests/{filed['id']}/photos", headers=mine)
    assert len(listed.json()) == 1  # the stranger's upload left nothing


async def test_pictures_that_are_not_what_they_claim_too_large_or_too_late_are_refused_naming_why(
    service: RequestsService,
) -> None:
    customer = uuid.uuid4()
    filed = await service.file(customer, service.contracts.add_site(customer))
    mine = service.customer(customer)

    status, problem = await _put(service, filed["id"], uuid.uuid4(), b"GIF89a...", mine, "image/gif")
    assert status == 415 and problem["errors"][0]["field"] == "content-type"
    status, problem = await _put(service, filed["id"], uuid.uuid4(), PNG, mine, "image/jpeg")
    assert status == 422 and problem["errors"][0] == {"field": "body", "reason": "is not a image/jpeg picture"}
    too_big = JPEG + b"\x00" * service.settings.attachment_max_bytes
    status, problem = await _put(service, filed["id"], uuid.uuid4(), too_big, mine, "image/jpeg")
    assert status == 413 and problem["errors"][0]["field"] == "body"

    for _ in range(service.settings.photos_per_request):
        assert (await _put(service, filed["id"], uuid.uuid4(), JPEG, mine, "image/jpeg"))[0] == 201
    status, problem = await _put(service, filed["id"], uuid.uuid4(), JPEG, mine, "image/jpeg")
    assert status == 409 and "at most" in str(problem["detail"])

    cancelled = await service.file(customer, service.contracts.add_site(customer))
    await service.client.post(f"/requests/{cancelled['id']}/cancel", headers=mine, json={"reason": "fixed it"})
    status, problem = await _put(service, cancelled["id"], uuid.uuid4(), JPEG, mine, "image/jpeg")
    assert status == 409 and "cancelled" in str(problem["detail"])


async def test_uploads_at_the_same_moment_never_take_a_request_past_its_photos(service: RequestsService) -> None:
    customer = uuid.uuid4()
    filed = await service.file(customer, service.contracts.add_site(customer))
    mine = service.customer(customer)
    for _ in range(service.settings.photos_per_request - 1):
        assert (await _put(service, filed["id"], uuid.uuid4(), JPEG, mine, "image/jpeg"))[0] == 201

    racing = await asyncio.gather(
        *(_put(service, filed["id"], uuid.uuid4(), JPEG, mine, "image/jpeg") for _ in range(4))
    )  # one place left, four uploads at once
    assert sorted(status for status, _ in racing) == [201, 409, 409, 409]
    listed = await service.client.get(f"/requests/{filed['id']}/photos", headers=mine)
    assert len(listed.json()) == service.settings.photos_per_request
