"""GET /me/day gives the app what it needs to work offline: the server's time (queued steps are timed with the
device clock corrected by it) and each stop's SLA deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from .conftest import Clock, Dispatch
from .test_breaks_and_contacts import BESIDE_THE_SITE, booked, emergency


async def test_my_day_says_the_servers_time_and_each_stops_deadlines(clocked_dispatch: Dispatch, clock: Clock) -> None:
    dispatch = clocked_dispatch
    tech = await dispatch.add_technician("Anna Koval", *BESIDE_THE_SITE)
    request = emergency(clock.now).model_copy(update={"fix_due": clock.now + timedelta(hours=6)})
    await dispatch.publish(request)
    await booked(dispatch, request)

    day = (await dispatch.client.get("/me/day", headers=dispatch.technician(tech))).json()

    assert datetime.fromisoformat(day["server_time"]) == clock.now
    (stop,) = day["stops"]
    assert datetime.fromisoformat(stop["response_due"]) == request.response_due
    assert datetime.fromisoformat(stop["fix_due"]) == request.fix_due
