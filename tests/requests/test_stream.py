"""The live tracking stream, served by a second replica under uvicorn while the first one handles the events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import uvicorn

from services.requests.app import create_app
from tests.requests.conftest import RequestsService
from tests.support.infra import free_port

M = timedelta(minutes=1)


@asynccontextmanager
async def second_replica(service: RequestsService) -> AsyncIterator[str]:
    port = free_port()
    settings = service.settings.model_copy(update={"port": port})
    app = create_app(settings, service.clock)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _frames(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    frame: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line.startswith(("id: ", "event: ", "data: ")):
            name, _, value = line.partition(": ")
            frame[name] = json.loads(value) if name == "data" else value
        elif line == "" and "event" in frame:
            yield frame
            frame = {}


async def _read(frames: AsyncIterator[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(15):
        return [await anext(frames) for _ in range(count)]


async def test_the_stream_follows_the_request_across_replicas_and_resumes(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    async with second_replica(service) as url, httpx.AsyncClient(base_url=url, timeout=None) as client:
        stranger = await client.get(f"/requests/{request['id']}/stream", headers=service.customer(uuid.uuid4()))
        assert stranger.status_code == 404
        path = f"/requests/{request['id']}/stream"
        async with client.stream("GET", path, headers=service.customer(customer)) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            frames = _frames(response)
            [filed] = await _read(frames, 1)
            assert (filed["event"], filed["data"]["request"]["status"]) == ("new", "new")
            booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 40 * M, first_name="Anna")
            [assigned] = await _read(frames, 1)
            assert assigned["event"] == "assigned"
            assert assigned["data"]["request"]["technician_first_name"] == "Anna"
            assert datetime.fromisoformat(assigned["data"]["request"]["eta"]) == t0 + 40 * M
            await service.dispatch.moved(booking, "en_route", at=t0 + 5 * M, eta=t0 + 30 * M)
            en_route, eta_changed = await _read(frames, 2)
            assert (en_route["event"], eta_changed["event"]) == ("en_route", "eta_changed")
            assert datetime.fromisoformat(eta_changed["data"]["detail"]["eta"]) == t0 + 30 * M

        resumed_headers = {**service.customer(customer), "Last-Event-ID": assigned["id"]}
        async with client.stream("GET", path, headers=resumed_headers) as response:
            again = await _read(_frames(response), 2)
            assert [f["id"] for f in again] == [en_route["id"], eta_changed["id"]]
