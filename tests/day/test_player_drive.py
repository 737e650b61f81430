"""The simulated technician's drive keeps to the simulated clock, whatever the API's latency (bench/day/player.py).

A real HTTP server stands in for dispatch's /me/positions and answers each ping half a second late; at 120x that is a
simulated minute per ping, which used to be added to the drive for every ping sent (six on this drive).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.day.player import Player
from bench.day.scenario import build_scenario
from deploy.local.company.generator import generate_company
from deploy.local.company.seeder import SeededCompany
from shared.clock import SimulatedClock
from tests.support.infra import free_port

SPEED = 120.0
LATENCY_S = 0.5  # real seconds per ping answer


@pytest.mark.asyncio
async def test_a_drive_arrives_on_the_clock_and_pings_along_the_way_despite_slow_answers() -> None:
    pings: list[dict[str, object]] = []

    async def positions(request: Request) -> JSONResponse:
        body = await request.json()
        pings.extend(body["pings"])
        await asyncio.sleep(LATENCY_S)
        return JSONResponse({"stored": len(body["pings"]), "received": len(body["pings"])})

    port = free_port()
    app = Starlette(routes=[Route("/me/positions", positions, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        company = generate_company(1, customers=2, sites=4, technicians=1)
        scenario = build_scenario(company, 1, technicians=1, hours=(time(7, 0), time(18, 0)), sick_call=False)
        clock = SimulatedClock(scenario.day_start, SPEED)
        player = Player(scenario, company, SeededCompany(), {}, lambda *a, **k: "token", clock, progress=False)
        start, end = (44.95, 34.10), (44.60, 33.52)  # Simferopol to Sevastopol
        seconds = 20 * 60.0  # a 20-minute drive: 7 legs of 3 minutes, each ping a simulated minute late
        departed = clock.now()
        arrived_at = await player.drive(f"http://127.0.0.1:{port}/me", "token", start, end, seconds)
        took = (clock.now() - departed).total_seconds()
        await player.client.aclose()
    finally:
        server.should_exit = True
        await serving

    assert arrived_at == end
    assert len(pings) >= 3
    assert pings[-1]["position"] == {"lat": end[0], "lon": end[1]}
    times = [datetime.fromisoformat(str(p["at"])) for p in pings]
    arrival = departed + timedelta(seconds=seconds)
    # the car is there on the clock: the last ping is sent on arrival, late by one sleep's wake-up at most, not by
    # the six answers before it (the old drive's last ping came six simulated minutes late; half of that is the bound)
    assert arrival <= times[-1] <= arrival + timedelta(seconds=3 * LATENCY_S * SPEED)
    assert took < seconds + 4 * LATENCY_S * SPEED
    # the positions move along the line towards the destination, in time order
    lats = [float(p["position"]["lat"]) for p in pings]  # type: ignore[index]
    assert times == sorted(times) and lats == sorted(lats, reverse=True) and min(lats) == end[0]
