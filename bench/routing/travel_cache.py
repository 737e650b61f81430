"""What road travel times cost: ``python -m bench.routing.travel_cache``.

1. The matrix cache alone on a re-plan's matrix (120 technicians + 1,000 visits = 1,120 points), cold and warm, the
   great-circle formula standing in for the engine.
2. The real Valhalla engine on the tests' river network (tests/support/road_network.py: tiles built in a tmp dir,
   valhalla_service with one thread): an emergency's 40 candidate points to and from a new job, and a 200-point
   matrix, from the engine and then from the cache.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from services.dispatch.adapters.valhalla import ValhallaMatrix
from services.dispatch.planning import RoadFactorTravel
from services.dispatch.planning.travel import FloatArray
from services.dispatch.planning.travel_cache import CachedRoadTravel
from tests.support.road_network import (
    BRIDGE_LAT,
    EAST_BANK_LON,
    SOUTH_LAT,
    WEST_BANK_LON,
    start_valhalla,
    stop_valhalla,
)


class FormulaEngine:
    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        return RoadFactorTravel().durations_between(origins, destinations)


def timed(travel: CachedRoadTravel, origins: FloatArray, destinations: FloatArray) -> float:
    started = time.perf_counter()
    travel.durations_between(origins, destinations)
    return time.perf_counter() - started


def cache_alone() -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([44.4 + rng.random(1120), 33.5 + 2 * rng.random(1120)])
    cache = CachedRoadTravel(FormulaEngine())
    cold, warm = timed(cache, points, points), timed(cache, points, points)
    started = time.perf_counter()
    FormulaEngine().table(points, points)
    engine = time.perf_counter() - started
    print(f"1,120 x 1,120 through the cache: cold {cold:.3f} s (the engine alone {engine:.3f} s), warm {warm:.3f} s")


def on_the_river() -> None:
    rng = np.random.default_rng(1)

    def on_the_roads(n: int) -> FloatArray:
        lat = SOUTH_LAT + rng.random(n) * (BRIDGE_LAT - SOUTH_LAT)
        return np.column_stack([lat, np.where(rng.random(n) < 0.5, WEST_BANK_LON, EAST_BANK_LON)])

    service = start_valhalla(Path(tempfile.mkdtemp(prefix="valhalla-bench-")))
    try:
        with httpx.Client() as client:
            road = CachedRoadTravel(ValhallaMatrix(client, service.url))
            candidates, job = on_the_roads(40), on_the_roads(1)
            cold = timed(road, candidates, job) + timed(road, job, candidates)
            warm = timed(road, candidates, job) + timed(road, job, candidates)
            print(f"40 candidate points to and from a new job: engine {cold * 1000:.0f} ms, cache {warm * 1000:.2f} ms")
            points = on_the_roads(200)
            cold, warm = timed(road, points, points), timed(road, points, points)
            print(f"200 x 200 matrix: engine {cold:.2f} s, cache {warm:.3f} s")
    finally:
        stop_valhalla(service)


if __name__ == "__main__":
    cache_alone()
    on_the_river()
