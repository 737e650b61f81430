"""The one place that turns the settings into the service's travel model (``travel_provider``).

``great_circle`` (the default): ``RoadFactorTravel``, no I/O. ``osrm`` / ``valhalla``: the engine's table
behind ``CachedRoadTravel``, one per process, shared by the planner and the reactive path; each replica
keeps its own cache. What the engine cannot answer (down, a site off its map) the formula answers, logged.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.dispatch.planning import RoadFactorTravel
from services.dispatch.planning.travel_cache import CachedRoadTravel, RoadEngine, TravelModel
from services.dispatch.settings import Settings

from .osrm import OsrmTable
from .valhalla import ValhallaMatrix


@dataclass
class TravelProvider:
    model: TravelModel
    client: httpx.Client | None = None  # the engine's connection pool, closed with the app

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def travel_provider(settings: Settings) -> TravelProvider:
    formula = RoadFactorTravel(road_factor=settings.road_factor)
    if settings.travel_provider == "great_circle":
        return TravelProvider(formula)
    client = httpx.Client(timeout=settings.travel_timeout_s)
    engine: RoadEngine
    if settings.travel_provider == "osrm":
        assert settings.osrm_url  # the settings' validator
        engine = OsrmTable(client, settings.osrm_url, settings.osrm_profile)
    else:
        assert settings.valhalla_url
        engine = ValhallaMatrix(client, settings.valhalla_url, settings.valhalla_costing)
    return TravelProvider(CachedRoadTravel(engine, settings.travel_cache_points, fallback=formula), client)
