"""What the road engines' matrix cache costs on a re-plan's matrix (120 technicians + 1,000 visits = 1,120 points):
cold (every pair from the engine) and warm, with the great-circle formula standing in for the engine so that only
the cache is measured: ``python -m bench.routing.travel_cache``."""

from __future__ import annotations

import time

import numpy as np

from services.dispatch.planning import RoadFactorTravel
from services.dispatch.planning.travel import FloatArray
from services.dispatch.planning.travel_cache import CachedRoadTravel


class FormulaEngine:
    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        return RoadFactorTravel().durations_between(origins, destinations)


def main() -> None:
    rng = np.random.default_rng(0)
    points = np.column_stack([44.4 + rng.random(1120), 33.5 + 2 * rng.random(1120)])
    cache = CachedRoadTravel(FormulaEngine())
    started = time.perf_counter()
    cache.durations_between(points, points)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    cache.durations_between(points, points)
    warm = time.perf_counter() - started
    started = time.perf_counter()
    FormulaEngine().table(points, points)
    engine = time.perf_counter() - started
    print(f"1,120 x 1,120 through the cache: cold {cold:.3f} s (the engine alone {engine:.3f} s), warm {warm:.3f} s")


if __name__ == "__main__":
    main()
