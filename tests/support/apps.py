"""A service's FastAPI app in-process, with its lifespan (engine, NATS, relay, consumers) running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from shared.settings import ServiceSettings
from tests.support.infra import service_database_url, service_nats


def service_settings(
    settings_cls: type[ServiceSettings], database_url: str, nats_url: str, keys_dir: Path, **overrides: Any
) -> Any:
    # rate limits count per clock window and tests hold the clock still: on only where a test asks for them
    overrides.setdefault("rate_limits_enabled", False)
    return settings_cls(
        database_url=service_database_url(database_url, settings_cls.service_name),
        **service_nats(settings_cls.service_name, nats_url),
        jwt_public_key_file=keys_dir / "jwt-public.pem",
        jwt_private_key_file=keys_dir / "jwt-private.pem",
        outbox_poll_interval_s=0.05,
        **overrides,
    )


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the app, inside its lifespan (ASGITransport alone does not run it)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
