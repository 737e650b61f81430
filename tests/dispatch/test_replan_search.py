"""POST /plans/{day}/replan runs the compiled search on a day with bookings (pins, previous routes), not only on
fresh days, and the booked emergency keeps its technician. Real PostGIS and NATS, the clock injected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from services.dispatch.planning import search, solver
from tests.conftest import Keys
from tests.support.infra import NatsServer
from tests.support.polling import eventually

from .conftest import Clock, Dispatch, dispatch_app
from .test_live_plan import HOME, TODAY, WEEK, at, booked, emergency_at, planned_visit


@pytest.fixture
async def dispatch_planning_in_process(
    database_url: str, nats_server: NatsServer, keys: Keys, clock: Clock
) -> AsyncIterator[Dispatch]:
    """The planner on a thread of the app's process (not the default planner process), where a spy sees it."""
    async with dispatch_app(database_url, nats_server, keys, clock, planner_processes=0) as running:
        yield running


async def test_a_replan_with_bookings_runs_the_compiled_search(
    dispatch_planning_in_process: Dispatch, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatch = dispatch_planning_in_process
    clock.now = at(10)
    await dispatch.add_technician("Anna Koval", *HOME, weekly_shifts=WEEK)
    urgent = emergency_at(clock.now, HOME[0] + 0.04, HOME[1])
    await dispatch.publish(urgent)
    first = await booked(dispatch, urgent.request_id)
    later = planned_visit(HOME[0] + 0.02, HOME[1], clock.now + timedelta(hours=2), clock.now + timedelta(hours=4))
    await dispatch.publish(later)

    async def known() -> bool:
        return bool(await dispatch.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", later.visit_id))

    await eventually(known, what="the visit reaches dispatch")
    searched: list[int] = []
    ruin_and_recreate = search.ruin_and_recreate

    def counted(*args: Any, **kwargs: Any) -> Any:
        searched.append(len(args[0].instance.pins))
        return ruin_and_recreate(*args, **kwargs)

    monkeypatch.setattr(solver, "ruin_and_recreate", counted)
    clock.advance(timedelta(seconds=5))
    replanned = await dispatch.client.post(f"/plans/{TODAY}/replan", headers=dispatch.dispatcher)
    assert replanned.status_code == 200, replanned.text
    assert searched and searched[-1] >= 1  # the day's search had the booked emergency pinned
    after = await booked(dispatch, urgent.request_id)
    assert after["id"] == first["id"] and after["first_eta"] == first["first_eta"]
    plan = (await dispatch.client.get(f"/plans/{TODAY}", headers=dispatch.dispatcher)).json()
    assert plan["unassigned"] == []
    (route,) = plan["routes"]
    assert {s["request_id"] for s in route["stops"]} == {str(urgent.request_id), str(later.visit_id)}
