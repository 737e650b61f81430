"""Each service's app builds and serves health, readiness and its OpenAPI document in-process."""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.infra import NatsServer


@pytest.mark.parametrize("service", ["contracts", "requests", "dispatch", "notify"])
async def test_service_is_ready_and_documents_its_api(service: str, database_url: str, nats_server: NatsServer,
                                                      keys: Keys) -> None:
    settings_cls = importlib.import_module(f"services.{service}.settings").Settings
    create_app = importlib.import_module(f"services.{service}.app").create_app
    app = create_app(service_settings(settings_cls, database_url, nats_server.url, keys.private.parent))
    async with running_app(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}
        spec = (await client.get("/openapi.json")).json()
        assert spec["info"]["title"] == f"Fieldline {service}"
        unauthenticated = [p for p in spec["paths"] if p not in ("/healthz", "/readyz")]
        assert unauthenticated, "every service has an API beyond health"
        for path in unauthenticated:
            methods = spec["paths"][path]
            method = "get" if "get" in methods else next(iter(methods))
            if "{" in path:
                continue
            response = await client.request(method.upper(), path)
            assert response.status_code in (401, 422), (path, response.status_code)
