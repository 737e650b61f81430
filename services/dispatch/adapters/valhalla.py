"""Road travel times from Valhalla's matrix API (``POST /sources_to_targets``).

``ValhallaMatrix`` is a ``RoadEngine`` (planning/travel_cache.py): the dispatch service's travel model when
``travel_provider`` is ``valhalla``. The engine runs beside the service as ``valhalla_service`` over tiles
built with ``valhalla_build_tiles`` (both executables ship in the pyvalhalla wheel; its Python binding needs
CPython 3.12, this project runs 3.11, so the engine is reached over HTTP on 127.0.0.1, not in-process).
"""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np

from services.dispatch.planning.travel import FloatArray
from services.dispatch.planning.travel_cache import RoadEngineDown, RoadEngineError

from .osrm import UNREACHABLE_SECONDS


class ValhallaError(RoadEngineError):
    pass


class ValhallaDown(ValhallaError, RoadEngineDown):
    pass


class ValhallaMatrix:
    """Durations by ``costing`` (``auto``: a car), in blocks of at most ``max_locations`` sources and as many
    targets per request (Valhalla's service_limits.auto.max_matrix_location_pairs defaults to 2,500)."""

    def __init__(self, client: httpx.Client, base_url: str, costing: str = "auto", max_locations: int = 50) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.costing = costing
        self.max_locations = max_locations

    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        n, m = len(origins), len(destinations)
        matrix = np.zeros((n, m), dtype=np.float64)
        step = max(1, self.max_locations)
        for r in range(0, n, step):
            for c in range(0, m, step):
                rows, cols = origins[r : r + step], destinations[c : c + step]
                matrix[r : r + len(rows), c : c + len(cols)] = self._block(rows, cols)
        return matrix

    def _block(self, sources: FloatArray, targets: FloatArray) -> FloatArray:
        def locations(points: FloatArray) -> list[dict[str, float]]:
            return [{"lat": float(lat), "lon": float(lon)} for lat, lon in points]

        try:
            response = self.client.post(
                f"{self.base_url}/sources_to_targets",
                json={"sources": locations(sources), "targets": locations(targets), "costing": self.costing},
            )
            body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ValhallaDown(f"Valhalla matrix: {error!r}") from error
        if response.status_code >= 500:
            raise ValhallaDown(f"Valhalla matrix: HTTP {response.status_code}: {body.get('error', body)}")
        if response.status_code != 200 or "sources_to_targets" not in body:
            raise ValhallaError(f"Valhalla matrix: HTTP {response.status_code}: {body.get('error', body)}")
        durations = np.full((len(sources), len(targets)), UNREACHABLE_SECONDS, dtype=np.float64)
        for row in body["sources_to_targets"]:
            for cell in row:
                if cell.get("time") is not None:  # no route between them: left unreachable
                    durations[cell["from_index"], cell["to_index"]] = float(cell["time"])
        return durations
