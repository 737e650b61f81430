"""The local gateway against real HTTP servers: a small upstream app and the gateway itself, each served
by uvicorn on a free port (httpx's ASGI transport buffers whole bodies, so it could not show streaming)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from deploy.local.gateway import GatewayConfig, create_app
from tests.support.infra import free_port


class ServedApp:
    """An ASGI app under uvicorn in a background thread."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server did not start")
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Upstream:
    """Echoes what it was sent; streams events one at a time, each only after the test releases it."""

    def __init__(self) -> None:
        self.releases: list[threading.Event] = [threading.Event() for _ in range(3)]

    async def echo(self, request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "authorization": request.headers.get("authorization"),
                "last_event_id": request.headers.get("last-event-id"),
                "body": body.decode(),
            },
            status_code=201 if request.method == "POST" else 200,
            headers={"x-upstream": "yes"},
        )

    async def events(self, request: Request) -> Response:
        start = int(request.headers.get("last-event-id", "0"))

        async def frames() -> AsyncIterator[bytes]:
            for n, release in enumerate(self.releases, start=start + 1):
                await anyio.to_thread.run_sync(release.wait)
                yield f"id: {n}\ndata: frame {n}\n\n".encode()

        return StreamingResponse(frames(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/events", self.events),
                Route("/{path:path}", self.echo, methods=["GET", "POST", "DELETE"]),
            ]
        )


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, ServedApp]]:
    model = Upstream()
    with ServedApp(model.app()) as served:
        yield model, served
    for release in model.releases:
        release.set()


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    dist = tmp_path / "web" / "console" / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>console</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log('console')")
    (tmp_path / "web" / "secret.txt").write_text("not for the web")
    return tmp_path / "web"


@pytest.fixture
def gateway(upstream: tuple[Upstream, ServedApp], web_root: Path) -> Iterator[ServedApp]:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = GatewayConfig(upstreams={"dispatch": upstream[1].url, "notify": down}, web_root=web_root)
    with ServedApp(create_app(config)) as served:
        yield served


def test_api_calls_reach_the_service_with_method_path_query_body_and_authorization(gateway: ServedApp) -> None:
    response = httpx.post(
        f"{gateway.url}/api/dispatch/plans/2026-12-04/replan?budget=3",
        json={"reason": "ill"},
        headers={"Authorization": "Bearer abc"},
    )

    assert response.status_code == 201
    assert response.headers["x-upstream"] == "yes"
    assert response.json() == {
        "method": "POST",
        "path": "/plans/2026-12-04/replan",
        "query": "budget=3",
        "authorization": "Bearer abc",
        "last_event_id": None,
        "body": '{"reason":"ill"}',
    }


def test_an_event_stream_arrives_frame_by_frame_with_last_event_id_forwarded(
    upstream: tuple[Upstream, ServedApp], gateway: ServedApp
) -> None:
    model, _ = upstream

    async def read() -> list[str]:
        seen: list[str] = []
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0)) as client:
            headers = {"Authorization": "Bearer abc", "Last-Event-ID": "40"}
            async with client.stream("GET", f"{gateway.url}/api/dispatch/events", headers=headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["x-accel-buffering"] == "no"
                chunks = response.aiter_text()
                for release in model.releases:
                    # The upstream writes the next frame only now: a buffering proxy would never
                    # deliver this one before the stream ends, and the read would time out.
                    release.set()
                    seen.append(await asyncio.wait_for(anext(chunks), timeout=10))
        return seen

    assert asyncio.run(read()) == [
        "id: 41\ndata: frame 41\n\n",
        "id: 42\ndata: frame 42\n\n",
        "id: 43\ndata: frame 43\n\n",
    ]


def test_a_service_that_does_not_answer_is_a_502_problem_naming_it(gateway: ServedApp) -> None:
    response = httpx.get(f"{gateway.url}/api/notify/streams/me")

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert "notify" in response.json()["detail"]


def test_an_unknown_api_is_a_404_problem(gateway: ServedApp) -> None:
    response = httpx.get(f"{gateway.url}/api/payroll/x")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_console_is_served_with_its_assets_and_client_routes(gateway: ServedApp) -> None:
    assert httpx.get(f"{gateway.url}/console").headers["location"] == "/console/"
    index = httpx.get(f"{gateway.url}/console/")
    asset = httpx.get(f"{gateway.url}/console/assets/app-1234.js")
    client_route = httpx.get(f"{gateway.url}/console/jobs/7")

    assert index.status_code == 200 and "<title>console</title>" in index.text
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert client_route.status_code == 200 and client_route.text == index.text
    assert httpx.get(f"{gateway.url}/console/assets/missing.js").status_code == 404


def test_an_app_not_built_yet_says_so(gateway: ServedApp) -> None:
    response = httpx.get(f"{gateway.url}/portal/")

    assert response.status_code == 503
    assert "make web" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/console/../secret.txt",
        "/console/%2e%2e/secret.txt",
        "/console/..%2fsecret.txt",
        "/console/%2e%2e%2f%2e%2e%2fsecret.txt",
    ],
)
def test_paths_out_of_the_app_are_refused(gateway: ServedApp, path: str) -> None:
    # Sent as written: httpx would otherwise normalise the dots away before they reach the gateway.
    with httpx.Client() as client:
        request = client.build_request("GET", gateway.url)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = client.send(request)

    assert response.status_code in (400, 404)
    assert "not for the web" not in response.text
