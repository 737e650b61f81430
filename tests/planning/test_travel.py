"""Travel providers: the great-circle default against pyproj, and the OSRM table client against a real
HTTP server on 127.0.0.1 (no mocking of httpx)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import numpy as np
import pytest
from pyproj import Geod

from services.dispatch.adapters.osrm import UNREACHABLE_SECONDS, OsrmError, fetch_duration_matrix
from services.dispatch.planning import GeoPoint, RoadFactorTravel
from services.dispatch.planning.travel import coordinates, great_circle_km
from tests.support.json_answer import answer_json

SIMFEROPOL = GeoPoint(44.952, 34.102)
SEVASTOPOL = GeoPoint(44.616, 33.525)
KERCH = GeoPoint(45.357, 36.468)


def test_great_circle_agrees_with_the_ellipsoid_within_half_a_percent() -> None:
    points = [SIMFEROPOL, SEVASTOPOL, KERCH]
    ours = great_circle_km(coordinates(points), coordinates(points))
    geod = Geod(ellps="WGS84")
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            if i != j:
                _, _, metres = geod.inv(a.lon, a.lat, b.lon, b.lat)
                assert ours[i, j] == pytest.approx(metres / 1000, rel=5e-3)


def test_road_factor_travel_is_symmetric_zero_on_the_diagonal_and_faster_on_long_trips() -> None:
    travel = RoadFactorTravel()
    m = travel.durations([SIMFEROPOL, SEVASTOPOL, KERCH], [SIMFEROPOL, SEVASTOPOL, KERCH])
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)
    one_km_north = GeoPoint(SIMFEROPOL.lat + 1 / 111.2, SIMFEROPOL.lon)
    town_kmh = 1.35 / (travel.durations([SIMFEROPOL], [one_km_north])[0, 0] / 3600)
    road_km = great_circle_km(coordinates([SIMFEROPOL]), coordinates([KERCH]))[0, 0] * 1.35
    assert town_kmh == pytest.approx(25.0, rel=0.01) and road_km / (m[0, 2] / 3600) > 60.0
    assert 2.5 * 3600 < m[0, 2] < 4 * 3600  # Simferopol-Kerch: about 3 h on the road


class _OsrmTable(BaseHTTPRequestHandler):
    """Answers /table/v1/driving/lon,lat;... with 10 s per 0.01 degree of longitude, null for lon 99."""

    def do_GET(self) -> None:
        url = urlsplit(unquote(self.path))  # urlparse would cut the path at the first ";"
        if not url.path.startswith("/table/v1/driving/"):
            self.send_error(404)
            return
        coords = [tuple(map(float, c.split(","))) for c in url.path.rsplit("/", 1)[1].split(";")]
        query = parse_qs(url.query)
        sources = [int(i) for i in query["sources"][0].split(";")]
        destinations = [int(i) for i in query["destinations"][0].split(";")]
        if len(coords) > 4:
            body = {"code": "TooBig", "message": "Too many table coordinates"}
        else:
            body = {
                "code": "Ok",
                "durations": [
                    [
                        None
                        if 99.0 in (coords[s][0], coords[d][0]) and s != d
                        else abs(coords[s][0] - coords[d][0]) * 1000
                        for d in destinations
                    ]
                    for s in sources
                ],
            }
        answer_json(self, body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def osrm_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsrmTable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_osrm_matrix_is_fetched_in_blocks_and_assembled(osrm_url: str) -> None:
    points = [GeoPoint(45.0, 34.0 + k * 0.01) for k in range(5)] + [GeoPoint(45.0, 99.0)]
    with httpx.Client() as client:
        travel = fetch_duration_matrix(client, osrm_url, points, max_table_size=4)
    m = travel.matrix
    for i in range(5):
        for j in range(5):
            assert m[i, j] == pytest.approx(abs(i - j) * 10.0)
    assert m[0, 5] == UNREACHABLE_SECONDS and m[5, 5] == 0.0
    assert travel.durations([points[4]], [points[1]])[0, 0] == pytest.approx(30.0)


def test_osrm_error_code_is_raised(osrm_url: str) -> None:
    points = [GeoPoint(45.0, 34.0 + k * 0.01) for k in range(6)]
    with httpx.Client() as client, pytest.raises(OsrmError, match="TooBig"):
        fetch_duration_matrix(client, osrm_url, points, max_table_size=12)
