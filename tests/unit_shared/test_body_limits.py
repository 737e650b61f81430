"""Body limits act at the ASGI edge: before the body is parsed and before the token is checked (issue 16)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.types import Message

from shared.http import install_problem_handlers
from shared.limits import BodyLimit, BodySizeLimitMiddleware

LIMIT = 1024
UPLOAD_LIMIT = 8 * 1024


def _require_token(request: Request) -> None:
    if "authorization" not in request.headers:
        raise HTTPException(401, "no token")


def limited_app() -> tuple[FastAPI, list[int]]:
    app = FastAPI()
    install_problem_handlers(app)
    bodies_seen: list[int] = []

    @app.post("/things", dependencies=[Depends(_require_token)])
    async def things(payload: dict[str, Any]) -> dict[str, int]:
        bodies_seen.append(len(payload))
        return {"keys": len(payload)}

    @app.post("/imports/{kind}")
    async def imports(kind: str, request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(
        BodySizeLimitMiddleware, default_max_bytes=LIMIT, limits=[BodyLimit(r"/imports/[^/]+", UPLOAD_LIMIT)]
    )
    return app, bodies_seen


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


def _json_of(size: int) -> bytes:
    return b'{"a": "' + b"x" * size + b'"}'


def _assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/body-too-large") and body["errors"][0]["field"] == "body"


async def test_a_declared_large_body_without_a_token_is_a_413_not_a_401() -> None:
    app, seen = limited_app()
    async with client(app) as api:
        response = await api.post("/things", content=_json_of(LIMIT * 4), headers={"content-type": "application/json"})
    _assert_413(response)
    assert seen == []


async def test_a_streamed_body_without_content_length_is_counted_and_refused() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 512

    app, seen = limited_app()
    async with client(app) as api:
        response = await api.post("/things", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    _assert_413(response)
    assert seen == []


async def test_a_lying_content_length_does_not_get_a_large_body_through() -> None:
    app, seen = limited_app()
    chunks = [b'{"a": "' + b"x" * 900, b"x" * 900 + b'"}']
    sent: list[Message] = []

    async def receive() -> Message:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/things",
        "raw_path": b"/things",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"10"), (b"authorization", b"x")],
        "client": ("127.0.0.1", 1),
        "server": ("edge", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert [m for m in sent if m["type"] == "http.response.start"] == [sent[0]]
    assert seen == []


async def test_small_bodies_pass_and_the_upload_route_takes_more() -> None:
    app, seen = limited_app()
    async with client(app) as api:
        small = await api.post(
            "/things", content=_json_of(100), headers={"content-type": "application/json", "authorization": "x"}
        )
        upload = await api.post("/imports/sites", content=b"y" * (UPLOAD_LIMIT - 10))
        too_big_upload = await api.post("/imports/sites", content=b"y" * (UPLOAD_LIMIT + 1))
        json_sized_elsewhere = await api.post("/imports/sites/extra", content=b"y" * (LIMIT + 1))
    assert small.status_code == 200 and seen == [1]
    assert upload.status_code == 200 and upload.json() == {"bytes": UPLOAD_LIMIT - 10}
    _assert_413(too_big_upload)
    _assert_413(json_sized_elsewhere)
