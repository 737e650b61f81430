"""The hooks feeding shared/metrics.py: planner and placement decorators, open SSE streams, route templates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.dispatch.usecases.emergency import EmergencyPlacer
from services.dispatch.usecases.replanning import Replanner
from shared.http import sse_response
from shared.metrics import observe_placement, observe_planner_run, process_metrics
from shared.observability import AccessMiddleware


def sample(name: str, **labels: str) -> float:
    return process_metrics().registry.get_sample_value(name, labels) or 0.0


def test_the_dispatch_use_cases_are_hooked() -> None:
    assert getattr(Replanner.replan, "__wrapped__", None) is not None
    assert getattr(EmergencyPlacer.place, "__wrapped__", None) is not None


async def test_placement_outcomes() -> None:
    @observe_placement
    async def place(answer: object) -> object:
        if answer == "boom":
            raise RuntimeError(answer)
        return answer

    name = "fieldline_emergency_placement_duration_seconds_count"
    before = {o: sample(name, outcome=o) for o in ("placed", "unplaceable", "error")}
    assert await place("a technician") == "a technician"
    assert await place(None) is None
    with pytest.raises(RuntimeError):
        await place("boom")
    assert {o: sample(name, outcome=o) - before[o] for o in before} == {"placed": 1, "unplaceable": 1, "error": 1}


async def test_planner_status_is_ok_or_the_exception_class() -> None:
    class PlanningBusy(Exception):
        pass

    @observe_planner_run
    async def replan(busy: bool) -> str:
        if busy:
            raise PlanningBusy
        return "plan"

    ok, busy = (
        sample("fieldline_planner_runs_total", status="ok"),
        sample("fieldline_planner_runs_total", status="PlanningBusy"),
    )
    await replan(False)
    with pytest.raises(PlanningBusy):
        await replan(True)
    assert sample("fieldline_planner_runs_total", status="ok") == ok + 1
    assert sample("fieldline_planner_runs_total", status="PlanningBusy") == busy + 1
    assert sample("fieldline_planner_run_duration_seconds_count", status="ok") >= 1


async def test_an_open_stream_counts_while_it_is_open() -> None:
    app = FastAPI()
    seen: list[float] = []

    async def frames() -> AsyncIterator[str]:
        seen.append(sample("fieldline_sse_connections", service="hooks"))
        yield "data: hello\n\n"

    @app.get("/streams/{stream_id}")
    async def stream(stream_id: str) -> object:
        return sse_response(frames())

    app.add_middleware(AccessMiddleware, service="hooks", metrics=process_metrics())
    before = sample("fieldline_sse_connections", service="hooks")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/streams/7")
    assert response.text == "data: hello\n\n"
    assert seen == [before + 1]
    assert sample("fieldline_sse_connections", service="hooks") == before
    assert (
        sample("http_server_requests_total", service="hooks", method="GET", route="/streams/{stream_id}", status="200")
        == 1
    )
