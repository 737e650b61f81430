"""Each service builds, serves health, readiness and OpenAPI, and refuses every non-public call unauthenticated."""

from __future__ import annotations

import importlib
import re
import uuid

import pytest

from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.infra import NatsServer

# what may be called without a token, per service (method, path template)
PUBLIC: dict[str, set[tuple[str, str]]] = {
    "contracts": set(),
    "dispatch": set(),
    # the page a confirmation link opens and its button: the link's token is the credential
    "notify": {("get", "/recipients/confirm"), ("post", "/recipients/confirm")},
    "requests": {
        ("get", "/rating.{representation}"),
        ("get", "/surveys/{token}"),
        ("post", "/surveys/{token}"),
        ("post", "/surveys/{token}/form"),
    },
}
ALWAYS_PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),  # Prometheus; fenced by the network or off by setting (docs/operations.md)
    ("get", "/openapi.json"),
    ("get", "/docs"),
    ("get", "/redoc"),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


@pytest.mark.parametrize("service", ["contracts", "requests", "dispatch", "notify"])
async def test_service_is_ready_and_refuses_anonymous_calls(
    service: str, database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    settings_cls = importlib.import_module(f"services.{service}.settings").Settings
    create_app = importlib.import_module(f"services.{service}.app").create_app
    app = create_app(service_settings(settings_cls, database_url, nats_server.url, keys.private.parent))
    async with running_app(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "nats": "ok"}
        scrape = await client.get("/metrics")
        assert scrape.status_code == 200 and "fieldline_outbox_pending_events" in scrape.text
        spec = (await client.get("/openapi.json")).json()
        assert spec["info"]["title"] == f"Fieldline {service}"
        operations = [(method, path) for path, methods in spec["paths"].items() for method in methods]
        assert set(PUBLIC[service]) <= set(operations), "the public list names operations that exist"
        guarded = [op for op in operations if op not in PUBLIC[service] | ALWAYS_PUBLIC]
        assert guarded, "every service has an API beyond health"
        refused = {}
        for method, path in guarded:
            response = await client.request(method.upper(), _concrete(path))
            refused[(method, path)] = response.status_code
            if response.status_code == 401:
                assert response.headers["content-type"].startswith("application/problem+json")
        assert {op: status for op, status in refused.items() if status != 401} == {}
