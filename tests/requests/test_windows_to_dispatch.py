"""A customer's two windows from the portal's POST to the promised ETA (issue 17): the requests app and the dispatch
app in-process on one PostGIS and one nats-server, entitlement from the canned contracts. The customer asks for
"Monday 07:00-07:30 or Tuesday 16:00-16:30"; dispatch plans it inside the Tuesday window (the merged span would have
allowed Monday noon) and the customer is told an arrival in that window."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest_asyncio

from shared.clock import FixedClock
from tests.dispatch.conftest import Dispatch
from tests.requests.conftest import RequestsService
from tests.support.polling import eventually

TZ = ZoneInfo("Europe/Simferopol")
WEEK = {d: {"start": "08:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def local(day: int, hh: int, mm: int = 0) -> datetime:
    """March 2030: the 3rd is a Sunday."""
    return datetime(2030, 3, day, hh, mm, tzinfo=TZ)


@pytest_asyncio.fixture
async def clock() -> FixedClock:
    """Both apps' "now": Sunday evening before the windows (this module's own date, whatever the suite's)."""
    return FixedClock(local(3, 20))


async def test_two_windows_filed_by_the_customer_are_planned_inside_one_and_the_eta_shown_is_in_it(
    service: RequestsService, dispatch: Dispatch
) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, priority="P3")
    await dispatch.add_technician("Anna Koval", 44.50, 34.17, weekly_shifts=WEEK)  # next to the Yalta site
    windows = [(local(4, 7), local(4, 7, 30)), (local(5, 16), local(5, 16, 30))]
    filed = await service.file(
        customer,
        site,
        kind="routine",
        description="Display case service",
        preferred_windows=[{"start": a.isoformat(), "end": b.isoformat()} for a, b in windows],
    )

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", filed["id"]))

    await eventually(known, what="the request reaches dispatch")
    for day in (local(4, 0).date(), local(5, 0).date()):
        planned = await dispatch.client.post(f"/plans/{day}/replan", headers=dispatch.dispatcher, json={})
        assert planned.status_code == 200, planned.text

    async def told() -> dict[str, object] | None:
        shown = await service.show(filed["id"], customer)
        return shown if shown["status"] == "assigned" and shown.get("eta") else None

    shown = await eventually(told, what="the customer is told the technician and ETA")
    assert shown is not None
    assert local(5, 16) <= datetime.fromisoformat(str(shown["eta"])) <= local(5, 16, 30)
