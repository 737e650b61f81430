"""Road travel times from an OSRM-compatible table API (``/table/v1/{profile}/{lon,lat;...}``).

An adapter behind the planner's travel-model interface: ``fetch_duration_matrix`` does the HTTP (blocking,
so call it off the event loop) and returns a ``MatrixTravel``, a ``TravelTimeProvider`` the pure planner
takes like any other. No service uses it yet: dispatch plans and places with ``RoadFactorTravel``.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import numpy as np

from services.dispatch.planning import GeoPoint, MatrixTravel

UNREACHABLE_SECONDS = 7 * 86_400.0  # OSRM answers null for pairs with no route: never worth driving


class OsrmError(RuntimeError):
    pass


def fetch_duration_matrix(
    client: httpx.Client,
    base_url: str,
    points: Sequence[GeoPoint],
    profile: str = "driving",
    max_table_size: int = 100,
) -> MatrixTravel:
    """Fetches the full matrix in blocks of at most ``max_table_size`` sources and destinations
    (OSRM's --max-table-size defaults to 100 coordinates per request)."""
    n = len(points)
    matrix = np.zeros((n, n), dtype=np.float64)
    half = max(1, max_table_size // 2)
    blocks = [list(range(i, min(n, i + half))) for i in range(0, n, half)]
    for sources in blocks:
        for destinations in blocks:
            block = sources + [d for d in destinations if d not in sources]
            coordinates = ";".join(f"{points[i].lon:.6f},{points[i].lat:.6f}" for i in block)
            position = {p: k for k, p in enumerate(block)}
            response = client.get(
                f"{base_url.rstrip('/')}/table/v1/{profile}/{coordinates}",
                params={
                    "sources": ";".join(str(position[s]) for s in sources),
                    "destinations": ";".join(str(position[d]) for d in destinations),
                    "annotations": "duration",
                },
            )
            response.raise_for_status()
            body = response.json()
            if body.get("code") != "Ok":
                raise OsrmError(f"OSRM table: {body.get('code')}: {body.get('message', '')}")
            durations = np.array(
                [[UNREACHABLE_SECONDS if v is None else float(v) for v in row] for row in body["durations"]],
                dtype=np.float64,
            )
            matrix[np.ix_(sources, destinations)] = durations
    return MatrixTravel(tuple(points), matrix)
