"""Technicians take only the mobile steps (issue 16, item 6): finishing a visit takes its report, cancelling is a
dispatcher's, who may also close a visit without one. Real PostGIS and NATS, the clock injected."""

from __future__ import annotations

from datetime import timedelta

from .conftest import Clock, Dispatch
from .test_device_time import booked_emergency
from .test_live_ops import SITE, step


async def test_a_technician_cannot_complete_or_cancel_without_the_report_but_a_dispatcher_can(
    clocked_dispatch: Dispatch, clock: Clock
) -> None:
    dispatch = clocked_dispatch
    anna, assignment = await booked_emergency(dispatch, clock)
    await step(dispatch, anna, assignment, "accepted", clock.now)
    clock.advance(timedelta(minutes=10))
    await step(dispatch, anna, assignment, "en_route", clock.now)
    clock.advance(timedelta(minutes=20))
    await step(dispatch, anna, assignment, "on_site", clock.now, SITE)
    clock.advance(timedelta(minutes=40))

    for status in ("completed", "failed", "cancelled"):
        body = {"status": status, "reason": "done", "outcome": "no_access"}
        refused = await dispatch.client.post(
            f"/assignments/{assignment}/status", headers=dispatch.technician(anna), json=body
        )
        assert refused.status_code == 403, (status, refused.text)
    (row,) = await dispatch.sql("SELECT status FROM dispatch.assignments WHERE id = $1", assignment)
    assert row["status"] == "on_site"

    closed = await dispatch.client.post(
        f"/assignments/{assignment}/status", headers=dispatch.dispatcher, json={"status": "completed"}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "completed"
