"""A real routing engine for tests: a tiny OSM network written with pyosmium, Valhalla tiles built from it with
``valhalla_build_tiles``, served by ``valhalla_service`` on a free port (both from the pyvalhalla wheel that
bootstrap installs into .venv/valhalla).

The network: a river along longitude 34.100 between two roads 11 km long, one on each bank (34.095 west,
34.105 east), and one bridge at their north end (latitude 45.000). Two points facing each other across the
water at the south end are 800 m apart in a straight line and about 21 km apart by road.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import osmium
from osmium.osm.mutable import Node, Way

from tests.support.infra import free_port
from tests.support.json_answer import answer_json

WEST_BANK_LON = 34.095
EAST_BANK_LON = 34.105
SOUTH_LAT, BRIDGE_LAT = 44.900, 45.000
_STEP = 0.001  # a node every ~110 m along each bank's road


def valhalla_bin() -> Path:
    """The engine's executables, installed by bootstrap from requirements-valhalla.lock."""
    folder = Path(sys.prefix) / "valhalla" / "valhalla"
    if not (folder / "bin" / "valhalla_service").exists():
        raise RuntimeError(f"no Valhalla executables in {folder}: run deploy/local/bootstrap.sh")
    return folder


def write_river_with_one_bridge(path: Path) -> None:
    """The network above as an .osm.pbf (a primary road at 60 km/h on each bank, the bridge joining their north
    ends)."""
    writer = osmium.SimpleWriter(str(path))
    next_id = 1

    def road(lon: float) -> list[int]:
        nonlocal next_id
        ids = []
        steps = round((BRIDGE_LAT - SOUTH_LAT) / _STEP)
        for k in range(steps + 1):
            writer.add_node(Node(id=next_id, location=(lon, SOUTH_LAT + k * _STEP), version=1))
            ids.append(next_id)
            next_id += 1
        return ids

    try:
        west, east = road(WEST_BANK_LON), road(EAST_BANK_LON)
        tags = {"highway": "primary", "maxspeed": "60"}
        writer.add_way(Way(id=1, nodes=west, tags=tags, version=1))
        writer.add_way(Way(id=2, nodes=east, tags=tags, version=1))
        writer.add_way(Way(id=3, nodes=[west[-1], east[-1]], tags={**tags, "bridge": "yes"}, version=1))
    finally:
        writer.close()


@dataclass
class ValhallaService:
    url: str
    process: subprocess.Popen[bytes]


def build_tiles(workdir: Path, port: int) -> Path:
    """Tiles of the river network in `workdir`; returns the service's config (listening on 127.0.0.1:`port`)."""
    folder = valhalla_bin()
    pbf = workdir / "river.osm.pbf"
    write_river_with_one_bridge(pbf)
    config = workdir / "valhalla.json"
    generated = subprocess.run(
        [
            sys.executable,
            str(folder / "valhalla_build_config.py"),
            "--mjolnir-tile-dir",
            str(workdir / "tiles"),
            "--mjolnir-tile-extract",
            str(workdir / "tiles.tar"),
            "--mjolnir-concurrency",
            "1",
            "--httpd-service-listen",
            f"tcp://127.0.0.1:{port}",
            # its own internal sockets (the defaults, ipc:///tmp/loopback and /tmp/interrupt, are one per machine)
            "--httpd-service-loopback",
            f"ipc://{workdir}/loopback",
            "--httpd-service-interrupt",
            f"ipc://{workdir}/interrupt",
            "--httpd-service-drain-seconds",
            "0",  # a test's engine has nothing in flight to drain when it is stopped
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    config.write_text(generated.stdout)
    subprocess.run(
        [str(folder / "bin" / "valhalla_build_tiles"), "-c", str(config), "-j", "1", str(pbf)],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    return config


def start_valhalla(workdir: Path) -> ValhallaService:
    port = free_port()
    config = build_tiles(workdir, port)
    log = (workdir / "service.log").open("wb")
    process = subprocess.Popen(
        [str(valhalla_bin() / "bin" / "valhalla_service"), str(config), "1"], stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/status", timeout=1).status_code == 200:
                return ValhallaService(url, process)
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"valhalla_service did not start: {(workdir / 'service.log').read_text()[-2000:]}")


def stop_valhalla(service: ValhallaService) -> None:
    service.process.terminate()
    try:
        service.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


def _osrm_table_from(valhalla_url: str) -> type[BaseHTTPRequestHandler]:
    class OsrmTableFromValhalla(BaseHTTPRequestHandler):
        """Answers OSRM's table protocol (GET /table/v1/driving/lon,lat;...?sources=&destinations=) with the
        durations Valhalla computes for the same pairs."""

        def do_GET(self) -> None:
            url = urlsplit(unquote(self.path))
            if not url.path.startswith("/table/v1/driving/"):
                self.send_error(404)
                return
            coords = [tuple(map(float, c.split(","))) for c in url.path.rsplit("/", 1)[1].split(";")]
            query = parse_qs(url.query)
            sources = [int(i) for i in query["sources"][0].split(";")]
            destinations = [int(i) for i in query["destinations"][0].split(";")]
            answer = httpx.post(
                f"{valhalla_url}/sources_to_targets",
                json={
                    "sources": [{"lon": coords[i][0], "lat": coords[i][1]} for i in sources],
                    "targets": [{"lon": coords[i][0], "lat": coords[i][1]} for i in destinations],
                    "costing": "auto",
                },
            ).json()
            durations = [[cell["time"] for cell in row] for row in answer["sources_to_targets"]]
            answer_json(self, {"code": "Ok", "durations": durations})

        def log_message(self, format: str, *args: object) -> None:
            pass

    return OsrmTableFromValhalla


def osrm_table_server(valhalla_url: str) -> Iterator[str]:
    """An HTTP server speaking OSRM's table protocol, backed by the Valhalla service: yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _osrm_table_from(valhalla_url))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
