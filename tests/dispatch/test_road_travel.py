"""Road travel times from a real routing engine (issue 17): Valhalla tiles built here from a small OSM network (a
river with one bridge far from the straight line, tests/support/road_network.py), served by valhalla_service; OSRM's
table protocol answered by a real HTTP server from the same engine. Through dispatch's events and API on real PostGIS
and NATS: an emergency goes to the technician on its bank, and a re-plan (in the planner's worker process) too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import pytest_asyncio
from pydantic import ValidationError

from services.dispatch.adapters.osrm import OsrmTable
from services.dispatch.adapters.valhalla import ValhallaError, ValhallaMatrix
from services.dispatch.planning import RoadFactorTravel
from services.dispatch.planning.travel_cache import CachedRoadTravel
from services.dispatch.settings import Settings
from shared.events.requests import PreferredWindow, ServiceRequestCreated
from tests.conftest import Keys
from tests.support.dispatch_events import request_created
from tests.support.infra import NatsServer, free_port
from tests.support.polling import eventually
from tests.support.road_network import (
    BRIDGE_LAT,
    EAST_BANK_LON,
    WEST_BANK_LON,
    ValhallaService,
    osrm_table_server,
    start_valhalla,
    stop_valhalla,
)

from .conftest import MONDAY_0800, Clock, Dispatch, dispatch_app

SITE = (44.905, EAST_BANK_LON)  # on the east bank, near the south end
ACROSS = (44.905, WEST_BANK_LON)  # facing the site across the water: 800 m in a straight line
UPSTREAM = (44.930, EAST_BANK_LON)  # on the site's bank, 2.8 km north of it


@pytest.fixture(scope="module")
def valhalla(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValhallaService]:
    service = start_valhalla(Path(tmp_path_factory.mktemp("valhalla")))
    try:
        yield service
    finally:
        stop_valhalla(service)


@pytest.fixture(scope="module")
def osrm_url(valhalla: ValhallaService) -> Iterator[str]:
    yield from osrm_table_server(valhalla.url)


def seconds(travel: CachedRoadTravel | RoadFactorTravel, origin: tuple[float, float], to: tuple[float, float]) -> float:
    return float(travel.durations_between(np.array([origin]), np.array([to]))[0, 0])


def test_the_engine_drives_round_by_the_bridge_where_the_formula_crosses_the_water(
    valhalla: ValhallaService, osrm_url: str
) -> None:
    formula = RoadFactorTravel()
    with httpx.Client() as client:
        road = CachedRoadTravel(ValhallaMatrix(client, valhalla.url))
        across, upstream = seconds(road, ACROSS, SITE), seconds(road, UPSTREAM, SITE)
        # up one bank to the bridge and down the other: ~21 km at 60 km/h, where the formula says 2.5 minutes
        by_road_km = 2 * (BRIDGE_LAT - SITE[0]) * 111.2
        assert across > 0.8 * by_road_km / 60 * 3600
        assert across > 6 * seconds(formula, ACROSS, SITE)
        assert 0.5 < upstream / (2.8 / 60 * 3600) < 2.0  # same bank: the road is the straight line
        assert upstream < seconds(formula, UPSTREAM, SITE) < across  # the formula's order is the wrong way round

        # asked again (rounded to ~1 m), the pairs come from the cache, not the engine
        calls = road.engine_calls
        again = road.durations_between(np.array([ACROSS, UPSTREAM]), np.array([(SITE[0] + 1e-7, SITE[1])]))
        assert road.engine_calls == calls and list(again[:, 0]) == [across, upstream]

        # OSRM's table protocol from a real server answering from the same engine: the same times
        osrm = OsrmTable(client, osrm_url, max_table_size=4)
        table = osrm.table(np.array([ACROSS, UPSTREAM, SITE]), np.array([SITE, ACROSS]))
        assert list(table[:, 0]) == pytest.approx([across, upstream, 0.0], abs=1.0)


def test_a_site_off_the_engines_map_gets_the_formulas_estimate_not_an_error(valhalla: ValhallaService) -> None:
    formula = RoadFactorTravel()
    far_inland = (44.5, 34.1)  # 45 km south of every road the engine knows: Valhalla answers 400
    with httpx.Client() as client:
        road = CachedRoadTravel(ValhallaMatrix(client, valhalla.url), fallback=formula)
        assert seconds(road, far_inland, SITE) == pytest.approx(seconds(formula, far_inland, SITE), rel=1e-6)
        assert road.fallbacks == 1
        with pytest.raises(ValhallaError, match="unconnected regions"):
            CachedRoadTravel(ValhallaMatrix(client, valhalla.url)).durations_between(
                np.array([far_inland]), np.array([SITE])
            )


# a Monday 08:00 far from the wall clock's date; technicians are on duty round the clock in these tests
@pytest_asyncio.fixture(params=["great_circle", "valhalla", "osrm"])
async def dispatch(
    request: pytest.FixtureRequest, database_url: str, nats_server: NatsServer, keys: Keys, valhalla: ValhallaService
) -> AsyncIterator[tuple[Dispatch, Clock, str]]:
    provider = request.param
    engine = {"valhalla_url": valhalla.url} if provider == "valhalla" else {}
    osrm = osrm_table_server(valhalla.url) if provider == "osrm" else None
    if osrm is not None:
        engine = {"osrm_url": next(osrm)}
    clock = Clock(MONDAY_0800)
    try:
        async with dispatch_app(database_url, nats_server, keys, clock, travel_provider=provider, **engine) as running:
            yield running, clock, provider
    finally:
        if osrm is not None:
            osrm.close()


def request_at(kind: str, now_clock: Clock, due: timedelta, windows: list[PreferredWindow]) -> ServiceRequestCreated:
    return request_created(
        now_clock.now,
        SITE,
        response_in=due,
        fix_in=None,
        kind=kind,
        priority="P1" if kind == "emergency" else "P3",
        estimated_duration_minutes=45,
        preferred_windows=windows,
    )


async def booked_technician(running: Dispatch, request_id: uuid.UUID) -> tuple[str, dict[str, str]]:
    async def booking() -> list[object]:
        return await running.sql(
            "SELECT id FROM dispatch.assignments WHERE request_id = $1 AND status = 'offered'", request_id
        )

    await eventually(booking, what="the request is booked")
    assignment_id = (await booking())[0]["id"]  # type: ignore[index]
    shown = await running.client.get(f"/assignments/{assignment_id}", headers=running.dispatcher)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    return str(body["technician_id"]), body


async def test_an_emergency_goes_to_the_technician_who_can_reach_it_by_road(
    dispatch: tuple[Dispatch, Clock, str], valhalla: ValhallaService
) -> None:
    running, clock, provider = dispatch
    across = await running.add_technician("Ivan Across", *ACROSS)
    upstream = await running.add_technician("Olga Upstream", *UPSTREAM)
    emergency = request_at("emergency", clock, timedelta(hours=3), [])
    await running.publish(emergency, occurred_at=clock.now)

    technician, booking = await booked_technician(running, emergency.request_id)
    if provider == "great_circle":
        # the formula's pick: 800 m away as the crow flies, 21 km by road (the failure a road engine fixes)
        assert technician == across
        return
    assert technician == upstream
    with httpx.Client() as client:
        by_road = seconds(CachedRoadTravel(ValhallaMatrix(client, valhalla.url)), UPSTREAM, SITE)
    promised = datetime.fromisoformat(booking["eta"]) - clock.now
    assert promised.total_seconds() == pytest.approx(by_road, abs=60)


async def test_a_replan_in_the_planners_process_sends_the_visit_to_the_technician_on_its_bank(
    dispatch: tuple[Dispatch, Clock, str],
) -> None:
    running, clock, provider = dispatch
    across = await running.add_technician("Ivan Across", *ACROSS)
    upstream = await running.add_technician("Olga Upstream", *UPSTREAM)
    day = clock.now.date()
    window = PreferredWindow(start=clock.now + timedelta(hours=1), end=clock.now + timedelta(hours=6))
    visit = request_at("routine", clock, timedelta(hours=6), [window])
    await running.publish(visit, occurred_at=clock.now)

    async def known() -> bool:
        return bool(await running.sql("SELECT 1 FROM dispatch.jobs WHERE request_id = $1", visit.request_id))

    await eventually(known, what="the routine request reaches dispatch")
    planned = await running.client.post(f"/plans/{day}/replan", headers=running.dispatcher, json={})
    assert planned.status_code == 200, planned.text
    technician, _ = await booked_technician(running, visit.request_id)
    assert technician == (across if provider == "great_circle" else upstream)


def test_a_road_engine_without_an_address_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="travel_provider osrm needs osrm_url"):
        Settings(travel_provider="osrm")


async def test_with_the_engine_down_an_emergency_is_still_booked_on_the_formulas_estimate(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    clock = Clock(MONDAY_0800)
    nobody_there = f"http://127.0.0.1:{free_port()}"
    async with dispatch_app(
        database_url, nats_server, keys, clock, travel_provider="valhalla", valhalla_url=nobody_there
    ) as running:
        across = await running.add_technician("Ivan Across", *ACROSS)
        await running.add_technician("Olga Upstream", *UPSTREAM)
        emergency = request_at("emergency", clock, timedelta(hours=3), [])
        await running.publish(emergency, occurred_at=clock.now)
        technician, _ = await booked_technician(running, emergency.request_id)
        assert technician == across  # the formula's pick, not an error
        assert running.app.state.dispatch.placer.travel.fallbacks >= 1
