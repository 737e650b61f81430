"""The HTTP edge every service shares: every error is problem+json, with Retry-After where retrying helps."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData

from shared.errors import Conflict, Unavailable
from shared.http import install_correlation_middleware, install_problem_handlers
from shared.messaging import messaging_tables
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings


def edge_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_correlation_middleware(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/busy")
    async def busy() -> None:
        raise Conflict("the plan is being made by another run", retry_after_s=3)

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("already booked")

    @app.get("/down")
    async def down() -> None:
        raise Unavailable("the entitlement service did not answer")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    # raise_app_exceptions=False: answer as a server would, instead of re-raising into the test
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://edge")


async def test_an_unexpected_error_is_a_problem_json_500_without_internals_and_with_the_correlation_id() -> None:
    async with client(edge_app()) as api:
        response = await api.get("/boom", headers={"X-Correlation-Id": "corr-42"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 500 and body["type"].endswith("/internal-error")
    assert "corr-42" in body["detail"] and response.headers["X-Correlation-Id"] == "corr-42"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


async def test_a_conflict_worth_retrying_says_when_and_a_plain_conflict_does_not() -> None:
    async with client(edge_app()) as api:
        busy = await api.get("/busy")
        plain = await api.get("/conflict")
        down = await api.get("/down")
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "3"
    assert plain.status_code == 409 and "Retry-After" not in plain.headers
    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
    assert down.headers["content-type"] == "application/problem+json"


async def test_the_api_docs_load_their_assets_from_the_service_itself(tmp_path: Path) -> None:
    settings = ServiceSettings(jwt_public_key_file=tmp_path / "pub.pem", jwt_private_key_file=tmp_path / "key.pem")
    app = create_service_app(
        settings,
        ServiceSpec(title="edge", producer="edge", tables=messaging_tables(MetaData(schema="edge")), routers=[]),
    )
    async with client(app) as api:  # no lifespan: the docs need neither database nor broker
        page = await api.get("/docs")
        assert page.status_code == 200
        assets = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page.text)
        assert assets and all(a.startswith("/") for a in assets), assets  # same origin, no CDN
        for asset in assets:
            assert (await api.get(asset)).status_code == 200, asset
