"""The company seeder waits out a service's rate limit (429 + Retry-After) instead of failing the seeding: `make
run` adds 67 recipients while notify allows 30 a minute per caller. A real HTTP server answers 429 twice."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from deploy.local.company.seeder import _WaitsOutRateLimits
from tests.gateway.test_gateway import ServedApp


def test_a_429_is_waited_out_for_its_retry_after_and_the_same_body_sent_again() -> None:
    seen: list[bytes] = []

    async def recipients(request: Request) -> JSONResponse:
        seen.append(await request.body())
        if len(seen) <= 2:
            return JSONResponse({"title": "Too many requests"}, status_code=429, headers={"retry-after": "0"})
        return JSONResponse({"id": "r1"}, status_code=201)

    with ServedApp(Starlette(routes=[Route("/recipients", recipients, methods=["POST"])])) as served:
        with httpx.Client(base_url=served.url, transport=_WaitsOutRateLimits()) as client:
            answer = client.post("/recipients", json={"email": "dispatch@fieldline.example"})
    assert answer.status_code == 201
    assert len(seen) == 3 and len(set(seen)) == 1  # the same body each time


def test_a_limit_that_never_lifts_fails_after_the_attempts() -> None:
    async def always(_request: Request) -> JSONResponse:
        return JSONResponse({"title": "Too many requests"}, status_code=429, headers={"retry-after": "0"})

    with ServedApp(Starlette(routes=[Route("/recipients", always, methods=["POST"])])) as served:
        with httpx.Client(base_url=served.url, transport=_WaitsOutRateLimits(attempts=3)) as client:
            with pytest.raises(Exception, match="rate-limited"):
                client.post("/recipients", json={})
