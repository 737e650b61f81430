"""A technician's photo: set by the technician (or a dispatcher), read by staff and the technician, and shown to a
customer only for the technician booked to that customer's own request. Real PostGIS and NATS."""

from __future__ import annotations

import uuid

from shared.auth import Role
from tests.support.polling import eventually

from .conftest import Dispatch
from .test_service import emergency

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
OTHER_JPEG = b"\xff\xd8\xff\xe1" + bytes(range(256)) * 2


async def _put(dispatch: Dispatch, path: str, headers: dict[str, str], body: bytes, media: str = "image/jpeg") -> int:
    response = await dispatch.client.put(path, content=body, headers={**headers, "content-type": media})
    return response.status_code


async def test_a_technician_sets_their_photo_and_staff_read_it_but_not_another_technician(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    ivan = await dispatch.add_technician("Ivan Sidorov", 45.35, 36.47)
    assert (await dispatch.client.get(f"/technicians/{anna}/photo", headers=dispatch.dispatcher)).status_code == 404

    assert await _put(dispatch, "/me/photo", dispatch.technician(anna), JPEG) == 200
    for headers in (dispatch.dispatcher, dispatch.technician(anna)):
        shown = await dispatch.client.get(f"/technicians/{anna}/photo", headers=headers)
        assert shown.status_code == 200 and shown.content == JPEG and shown.headers["content-type"] == "image/jpeg"
    assert (
        await dispatch.client.get(f"/technicians/{anna}/photo", headers=dispatch.technician(ivan))
    ).status_code == 404

    assert await _put(dispatch, f"/technicians/{anna}/photo", dispatch.dispatcher, OTHER_JPEG) == 200  # replaced
    shown = await dispatch.client.get(f"/technicians/{anna}/photo", headers=dispatch.dispatcher)
    assert shown.content == OTHER_JPEG
    # a technician sets no one else's; a picture that is not one is refused naming why
    assert await _put(dispatch, f"/technicians/{ivan}/photo", dispatch.technician(anna), JPEG) == 403
    assert await _put(dispatch, "/me/photo", dispatch.technician(anna), b"GIF89a", "image/gif") == 415
    assert await _put(dispatch, "/me/photo", dispatch.technician(anna), b"not a jpeg") == 422


async def test_a_customer_sees_the_photo_of_the_technician_booked_to_its_own_request_only(dispatch: Dispatch) -> None:
    anna = await dispatch.add_technician("Anna Koval", 44.95, 34.10)
    assert await _put(dispatch, "/me/photo", dispatch.technician(anna), JPEG) == 200
    customer, stranger = uuid.uuid4(), uuid.uuid4()
    filed = emergency(uuid.uuid4(), 44.96, 34.11, customer=customer)
    photo = f"/customer/requests/{filed.request_id}/technician-photo"
    mine = dispatch.keys.headers(Role.CUSTOMER, customer_id=customer)
    assert (await dispatch.client.get(photo, headers=mine)).status_code == 404  # not even known yet

    await dispatch.publish(filed)
    await eventually(
        lambda: dispatch.sql("SELECT id FROM dispatch.assignments WHERE request_id = $1", filed.request_id),
        lambda rows: len(rows) == 1,
        what="the emergency is booked",
    )
    visit = (await dispatch.client.get(f"/customer/requests/{filed.request_id}/visit", headers=mine)).json()
    assert visit["technician_first_name"] == "Anna" and visit["technician_photo_url"] == photo.lstrip("/")
    shown = await dispatch.client.get(photo, headers=mine)
    assert shown.status_code == 200 and shown.content == JPEG
    theirs = dispatch.keys.headers(Role.CUSTOMER, customer_id=stranger)
    assert (await dispatch.client.get(photo, headers=theirs)).status_code == 404
