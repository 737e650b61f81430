"""A device's time is believed only within bounds (issue 16, item 3): a status step or a fix may be up to 24 hours
behind the server's clock (an offline queue) and 2 minutes ahead of it, never before the booking was made; the
server's receipt time is kept beside it. Real PostGIS and NATS, the clock injected."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from services.dispatch.domain.device_time import device_time_refusal

from .conftest import MONDAY_0800, Clock, Dispatch
from .test_live_ops import SITE, WEEK, active, emergency

NOW = MONDAY_0800.replace(hour=10)


def test_device_time_is_believed_within_its_bounds_only() -> None:
    booked = NOW - timedelta(hours=2)
    assert device_time_refusal(NOW - timedelta(hours=1), NOW, booked) is None
    assert device_time_refusal(NOW + timedelta(seconds=110), NOW, booked) is None  # a drifting clock
    assert "ahead of the server's clock" in (device_time_refusal(NOW + timedelta(minutes=3), NOW) or "")
    assert device_time_refusal(NOW - timedelta(hours=23, minutes=59), NOW) is None
    assert "24 hours before" in (device_time_refusal(NOW - timedelta(hours=24, seconds=1), NOW) or "")
    assert "before the booking" in (device_time_refusal(booked - timedelta(seconds=1), NOW, booked) or "")
    assert device_time_refusal(datetime(2099, 1, 1, tzinfo=NOW.tzinfo), NOW) is not None


async def _step(dispatch: Dispatch, technician: str, assignment: Any, status: str, at: datetime) -> Any:
    body = {"client_command_id": str(uuid.uuid4()), "at": at.isoformat()}
    path = "accept" if status == "accepted" else "status"
    if path == "status":
        body["status"] = status
    return await dispatch.client.post(
        f"/me/assignments/{assignment}/{path}", headers=dispatch.technician(technician), json=body
    )


async def booked_emergency(dispatch: Dispatch, clock: Clock) -> tuple[str, Any]:
    """Anna, and an emergency booked on her at NOW (the clock set there)."""
    clock.now = NOW
    anna = await dispatch.add_technician("Anna Koval", SITE[0] - 0.05, SITE[1], weekly_shifts=WEEK)
    urgent = emergency(clock.now)
    await dispatch.publish(urgent, occurred_at=clock.now)
    return anna, (await active(dispatch, urgent.request_id))["id"]


def _refused_for(response: Any, field: str, words: str) -> bool:
    if response.status_code != 422 or not response.headers["content-type"].startswith("application/problem+json"):
        return False
    return field in response.text and words in response.text


async def test_status_steps_outside_the_devices_allowance_are_refused_and_the_receipt_is_kept(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna, assignment = await booked_emergency(dispatch, clock)

    early = await _step(dispatch, anna, assignment, "accepted", NOW - timedelta(minutes=1))
    assert _refused_for(early, "at", "before the booking was made")
    ahead = await _step(dispatch, anna, assignment, "accepted", NOW + timedelta(minutes=3))
    assert _refused_for(ahead, "at", "ahead of the server's clock")
    clock.advance(timedelta(minutes=20))
    offline = NOW + timedelta(minutes=5)  # accepted in a cellar, synced 15 minutes later
    assert (await _step(dispatch, anna, assignment, "accepted", offline)).status_code == 200
    (row,) = await dispatch.sql(
        "SELECT at, detail FROM dispatch.assignment_history WHERE assignment_id = $1 AND status = 'accepted'",
        assignment,
    )
    detail = json.loads(row["detail"]) if isinstance(row["detail"], str) else row["detail"]
    assert row["at"] == offline and datetime.fromisoformat(detail["received_at"]) == clock.now

    clock.advance(timedelta(hours=30))  # a queue replayed after more than a day: the step is not believed
    stale = await _step(dispatch, anna, assignment, "en_route", offline + timedelta(minutes=10))
    assert _refused_for(stale, "at", "24 hours before")
    (status,) = await dispatch.sql("SELECT status FROM dispatch.assignments WHERE id = $1", assignment)
    assert status["status"] == "accepted"


async def test_a_fix_dated_in_the_future_is_refused_and_never_freezes_the_live_position(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    clock.now = NOW
    anna = await dispatch.add_technician("Anna Koval", SITE[0] - 0.05, SITE[1], weekly_shifts=WEEK)

    async def ping(at: datetime, lat: float) -> Any:
        body = {
            "client_command_id": str(uuid.uuid4()),
            "pings": [
                {"at": (NOW - timedelta(minutes=1)).isoformat(), "position": {"lat": 44.9, "lon": 34.1}},
                {"at": at.isoformat(), "position": {"lat": lat, "lon": 34.1}},
            ],
        }
        return await dispatch.client.post("/me/positions", headers=dispatch.technician(anna), json=body)

    assert _refused_for(await ping(datetime(2099, 1, 1, tzinfo=NOW.tzinfo), 45.5), "pings[1].at", "ahead")
    assert _refused_for(await ping(NOW - timedelta(hours=25), 45.5), "pings[1].at", "24 hours before")
    assert await dispatch.sql("SELECT 1 FROM dispatch.position_pings") == []  # a refused batch stores nothing

    assert (await ping(NOW, 44.95)).status_code == 200
    (tech,) = await dispatch.sql("SELECT position_at FROM dispatch.technicians WHERE id = $1::uuid", anna)
    assert tech["position_at"] == NOW
    clock.advance(timedelta(minutes=3))
    assert (await ping(clock.now, 44.96)).status_code == 200  # the next fix moves it: nothing froze it
    (tech,) = await dispatch.sql("SELECT position_at FROM dispatch.technicians WHERE id = $1::uuid", anna)
    assert tech["position_at"] == clock.now
