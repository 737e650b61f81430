"""The broker enforces each service's NATS user (shared/messaging/permissions.py): no anonymous clients, no
publishing outside the service's own subjects, no listening to other services' replies or to everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
import nats.errors
import pytest
import yaml
from nats.aio.client import Client
from nats.aio.msg import Msg

from shared.events.registry import PRODUCERS
from shared.events.requests import ServiceRequestCreated
from shared.messaging.connection import ensure_stream
from shared.messaging.permissions import inbox_prefix, service_permissions
from tests.messaging.harness import wait_for
from tests.support.infra import REPO_ROOT, TEST_NATS_PASSWORDS, NatsServer


@asynccontextmanager
async def as_service(server: NatsServer, service: str) -> AsyncIterator[tuple[Client, list[str]]]:
    """A client logged in as the service's user, and the errors the server sends it."""
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        server.anonymous_url,
        user=service,
        password=TEST_NATS_PASSWORDS[service],
        inbox_prefix=inbox_prefix(service),
        error_cb=on_error,
        allow_reconnect=False,
    )
    try:
        yield nc, errors
    finally:
        await nc.close()


async def test_a_client_without_credentials_is_refused(nats_server: NatsServer) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(nats_server.anonymous_url, allow_reconnect=False, connect_timeout=2)
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            nats_server.anonymous_url, user="requests", password="guessed", allow_reconnect=False, connect_timeout=2
        )


async def test_a_service_publishing_another_services_event_is_refused(nats_server: NatsServer) -> None:
    forged = ServiceRequestCreated.subject
    heard: list[Msg] = []

    async def listen(msg: Msg) -> None:
        heard.append(msg)

    observer = await nats.connect(nats_server.url)
    try:
        await observer.subscribe(forged, cb=listen)
        await observer.flush()
        async with as_service(nats_server, "contracts") as (contracts, errors):
            await contracts.publish(forged, b"{}")
            await contracts.flush()
            await wait_for(lambda: _said(errors, "permissions violation for publish"), "the server's refusal")
        async with as_service(nats_server, "requests") as (requests, _):
            await ensure_stream(requests.jetstream(), "requests")  # its own stream: allowed
            await requests.publish(forged, b"{}")  # its own subject: allowed (the control)
            await requests.flush()
        await wait_for(lambda: _true(len(heard) == 1), "requests' own event heard")
        assert len(heard) == 1  # contracts' forgery never reached a subscriber
    finally:
        await observer.close()


@pytest.mark.parametrize("subject", [f"{inbox_prefix('requests')}.>", ">", "fieldline.requests.>"])
async def test_a_service_cannot_listen_to_another_services_replies_or_to_everything(
    nats_server: NatsServer, subject: str
) -> None:
    async with as_service(nats_server, "contracts") as (contracts, errors):
        await contracts.subscribe(subject)
        await contracts.flush()
        await wait_for(lambda: _said(errors, "permissions violation for subscription"), "the server's refusal")


async def test_a_service_cannot_declare_another_services_stream(nats_server: NatsServer) -> None:
    async with as_service(nats_server, "notify") as (notify, _):
        with pytest.raises((nats.errors.TimeoutError, TimeoutError)):  # the API request is dropped, never answered
            await notify.jetstream(timeout=1).stream_info("FIELDLINE_CONTRACTS")


async def _said(errors: list[str], words: str) -> bool:
    return any(words in error.lower() for error in errors)


async def _true(value: bool) -> bool:
    return value


def test_the_helm_values_grant_exactly_the_permissions_of_the_one_source() -> None:
    values = yaml.safe_load((REPO_ROOT / "deploy/k8s/nats/values.yaml").read_text())
    users = {u["user"]: u for u in values["config"]["merge"]["authorization"]["users"]}
    assert set(users) == set(PRODUCERS)
    for service, user in users.items():
        assert user["permissions"] == service_permissions(service).as_config(), service
        assert user["password"] == f"<< ${service.upper()}_NATS_PASSWORD >>"
