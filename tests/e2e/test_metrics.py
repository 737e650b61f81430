"""A running service's /metrics after some traffic: an HTTP request, a message consumed (a poison one, so it is
also dead-lettered, which writes an outbox row), with the labels operators query by."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, text

from services.contracts.app import create_app
from services.contracts.db.tables import messaging
from services.contracts.settings import Settings
from shared.db import Database, create_engine
from shared.events.dead_letters import DEAD_LETTER_EVENTS
from shared.events.requests import ServiceRequestCreated
from shared.messaging.connection import connect
from shared.metrics import process_metrics
from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.infra import NatsServer
from tests.support.polling import eventually

DURABLE = "contracts-service-jobs"  # contracts' consumer of ServiceRequestCreated


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_show_http_consumer_and_outbox_families(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    app = create_app(service_settings(Settings, database_url, nats_server.url, keys.private.parent))
    async with running_app(app) as client:
        before = await scrape(client)
        refused = await client.get(f"/contracts/{uuid.uuid4()}")
        assert refused.status_code == 401

        subject = ServiceRequestCreated.subject
        nc = await connect(nats_server.url, name="metrics-test")
        try:
            await nc.jetstream().publish(subject, b"not an envelope", headers={"Nats-Msg-Id": uuid.uuid4().hex})
        finally:
            await nc.close()

        def dead_lettered(m: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> bool:
            got = value(m, "fieldline_consumer_dead_letters_total", consumer=DURABLE, subject=subject)
            return got > value(before, "fieldline_consumer_dead_letters_total", consumer=DURABLE, subject=subject)

        await eventually(lambda: scrape(client), dead_lettered, what="the poison message dead-lettered")
        announced = {"subject": DEAD_LETTER_EVENTS["contracts"].subject}  # the dead letter's outbox row, relayed
        after = await eventually(
            lambda: scrape(client),
            lambda m: (
                value(m, "fieldline_events_published_total", **announced)
                > value(before, "fieldline_events_published_total", **announced)
            ),
            what="the dead-letter event published by the relay",
        )

    route = {"service": "contracts", "method": "GET", "route": "/contracts/{contract_id}"}
    assert value(after, "http_server_requests_total", **route, status="401") >= 1
    assert value(after, "http_server_request_duration_seconds_count", **route) >= 1
    assert not any(dict(labels).get("route", "").count("-") >= 4 for _, labels in after), "a raw path as a label"
    consumed = {"consumer": DURABLE, "subject": subject}
    assert value(after, "fieldline_consumer_deliveries_total", **consumed) > value(
        before, "fieldline_consumer_deliveries_total", **consumed
    )
    assert ("fieldline_consumer_pending_messages", frozenset({("consumer", DURABLE)})) in after  # broker count
    assert ("fieldline_consumer_ack_pending_messages", frozenset({("consumer", DURABLE)})) in after
    assert ("fieldline_outbox_pending_events", frozenset({("service", "contracts")})) in after
    assert value(after, "fieldline_outbox_oldest_pending_age_seconds", service="contracts") >= 0
    assert ("fieldline_db_pool_connections_in_use", frozenset({("service", "contracts")})) in after
    assert value(after, "fieldline_db_pool_size", service="contracts") > 0


async def test_metrics_can_be_turned_off(database_url: str, nats_server: NatsServer, keys: Keys) -> None:
    settings = service_settings(Settings, database_url, nats_server.url, keys.private.parent, metrics_enabled=False)
    async with running_app(create_app(settings)) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_outbox_gauges_read_the_backlog_at_scrape_time(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    settings = service_settings(Settings, database_url, nats_server.url, keys.private.parent)
    async with running_app(create_app(settings)):
        pass  # migrated; the relay is stopped again, so a row written now stays pending
    db = Database(create_engine(settings))
    event_id = uuid.uuid4()
    outbox = messaging.outbox
    try:
        async with db.transaction() as session:
            await session.execute(
                outbox.insert().values(
                    event_id=event_id,
                    subject="fieldline.contracts.test.metrics.v1",
                    payload={},
                    created_at=func.now() - text("interval '90 seconds'"),
                )
            )
        metrics = process_metrics()
        runtime: Any = SimpleNamespace(settings=settings, db=db, tables=messaging)
        await metrics.refresh_scrape_time(runtime)
        labels = {"service": "contracts"}
        assert (metrics.registry.get_sample_value("fieldline_outbox_pending_events", labels) or 0) >= 1
        assert (metrics.registry.get_sample_value("fieldline_outbox_oldest_pending_age_seconds", labels) or 0) >= 90
    finally:
        async with db.transaction() as session:
            await session.execute(outbox.delete().where(outbox.c.event_id == event_id))
        await db.dispose()
