"""Road travel times from an OSRM-compatible table API (``/table/v1/{profile}/{lon,lat;...}``).

``OsrmTable`` is a ``RoadEngine`` (planning/travel_cache.py): the dispatch service's travel model when
``travel_provider`` is ``osrm`` (adapters/travel_provider.py), behind the matrix cache. The HTTP is blocking:
the planner asks for its matrix off the event loop; the reactive path asks for a few rows per emergency.
``fetch_duration_matrix`` gives a ``MatrixTravel`` over known points (the benchmarks' use).
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from services.dispatch.planning import GeoPoint, MatrixTravel
from services.dispatch.planning.travel import FloatArray, coordinates
from services.dispatch.planning.travel_cache import RoadEngineDown, RoadEngineError

UNREACHABLE_SECONDS = 7 * 86_400.0  # OSRM answers null for pairs with no route: never worth driving


class OsrmError(RoadEngineError):
    pass


class OsrmDown(OsrmError, RoadEngineDown):
    pass


class OsrmTable:
    """Durations from OSRM's table service, in blocks of at most ``max_table_size`` coordinates per request
    (OSRM's --max-table-size defaults to 100)."""

    def __init__(
        self, client: httpx.Client, base_url: str, profile: str = "driving", max_table_size: int = 100
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.max_table_size = max_table_size

    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        n, m = len(origins), len(destinations)
        matrix = np.zeros((n, m), dtype=np.float64)
        half = max(1, self.max_table_size // 2)
        for r in range(0, n, half):
            for c in range(0, m, half):
                rows, cols = origins[r : r + half], destinations[c : c + half]
                matrix[r : r + len(rows), c : c + len(cols)] = self._block(rows, cols)
        return matrix

    def _block(self, sources: FloatArray, destinations: FloatArray) -> FloatArray:
        # a point both source and destination is sent once (OSRM answers 0 from it to itself)
        position: dict[str, int] = {}
        for lat, lon in np.concatenate([sources, destinations]):
            position.setdefault(f"{lon:.6f},{lat:.6f}", len(position))

        def indices(points: FloatArray) -> str:
            return ";".join(str(position[f"{lon:.6f},{lat:.6f}"]) for lat, lon in points)

        try:
            response = self.client.get(
                f"{self.base_url}/table/v1/{self.profile}/{';'.join(position)}",
                params={"sources": indices(sources), "destinations": indices(destinations), "annotations": "duration"},
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise OsrmDown(f"OSRM table: {error!r}") from error
        if response.status_code >= 500:
            raise OsrmDown(f"OSRM table: HTTP {response.status_code}")
        if body.get("code") != "Ok":
            raise OsrmError(f"OSRM table: {body.get('code')}: {body.get('message', '')}")
        return np.array(
            [[UNREACHABLE_SECONDS if v is None else float(v) for v in row] for row in body["durations"]],
            dtype=np.float64,
        ).reshape(len(sources), len(destinations))


def fetch_duration_matrix(
    client: httpx.Client,
    base_url: str,
    points: Sequence[GeoPoint],
    profile: str = "driving",
    max_table_size: int = 100,
) -> MatrixTravel:
    """The full matrix over ``points``, fetched in blocks (see ``OsrmTable``)."""
    latlon = coordinates(points)
    matrix = OsrmTable(client, base_url, profile, max_table_size).table(latlon, latlon)
    return MatrixTravel(tuple(points), matrix)
