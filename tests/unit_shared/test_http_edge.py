"""The HTTP edge every service shares: every error is problem+json, with Retry-After where retrying helps."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import create_engine
from shared.errors import Conflict, Unavailable
from shared.http import install_correlation_middleware, install_problem_handlers
from shared.messaging import messaging_tables
from shared.observability import json_log_handler
from shared.service import ServiceSpec, create_service_app
from shared.settings import ServiceSettings
from tests.support.infra import admin_dsn, free_port


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


def database_app(database_url: str) -> FastAPI:
    """A route that reads from ``database_url`` through SQLAlchemy's asyncpg engine, as every service does."""
    app = edge_app()
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"), pool_size=1)

    @app.get("/read")
    async def read() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    @app.get("/read-while-terminated")
    async def read_while_terminated() -> int:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            # what a database restart does to an open connection (57P01, terminating connection)
            admin = await asyncpg.connect(admin_dsn())
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    return app


async def test_a_database_that_refuses_or_drops_the_connection_is_a_503_to_retry_not_a_500() -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    async with client(database_app(closed)) as api:
        refused = await api.get("/read")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert refused.json()["type"].endswith("/unavailable")

    async with client(database_app(admin_dsn())) as api:
        assert (await api.get("/read")).status_code == 200
        dropped = await api.get("/read-while-terminated")
    assert dropped.status_code == 503 and dropped.headers["Retry-After"] == "5"


async def test_a_failing_statement_logs_no_sql_parameters() -> None:
    """SQL parameters are customers' addresses, names and phones: a failing statement's 500 is logged (the services'
    JSON log) with the statement and SQLSTATE, never the values, neither SQLAlchemy's list of them
    (shared/db.create_engine: hide_parameters) nor the driver's message that repeats one (shared/observability)."""
    settings = ServiceSettings(service_name="edge", database_url=admin_dsn())
    engine = create_engine(settings)
    app = edge_app()
    secret = "Kirova 12, +7 978 555 01 02"

    @app.get("/fails")
    async def fails() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT CAST(:address AS int)"), {"address": secret})).scalar_one())

    handler = json_log_handler("edge")
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    handler.setStream(written)
    logging.getLogger().addHandler(handler)
    try:
        async with client(app) as api:
            answered = await api.get("/fails")
    finally:
        logging.getLogger().removeHandler(handler)
        await engine.dispose()
    logged = written.getvalue()
    assert answered.status_code == 500 and secret not in answered.text
    assert "unhandled error" in logged and "SELECT CAST" in logged, logged
    assert secret not in logged and "Kirova" not in logged, logged
