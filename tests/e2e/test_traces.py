"""One trace per emergency: the customer's POST to requests, contracts' entitlement answer, the outbox, the NATS
headers, dispatch's consumer that books the technician, and notify's consumer of the booking, all under the trace
id of the HTTP request. The four services run in-process on the real database and a real nats-server, each with
its own tracer provider; the SDK's in-memory exporter collects what they export."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from services.contracts.app import create_app as contracts_app
from services.contracts.settings import Settings as ContractsSettings
from services.dispatch.app import create_app as dispatch_app
from services.dispatch.settings import Settings as DispatchSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import Settings as NotifySettings
from services.requests.app import create_app as requests_app
from services.requests.settings import Settings as RequestsSettings
from shared.auth import Role
from shared.events.contracts import ContractActivated
from shared.events.dispatch import AssignmentCreated
from shared.events.requests import ServiceRequestCreated
from shared.observability import json_log_handler
from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.bodies import contract_body
from tests.support.clock import suite_clock
from tests.support.infra import NatsServer
from tests.support.polling import eventually

pytestmark = pytest.mark.date_sensitive  # the contract and the technician's day are on the suite clock

TRACED: dict[str, Any] = {"tracing_enabled": True, "traces_exporter": "none"}  # spans to the test's exporter only
DISPATCH_QUIET: dict[str, Any] = {
    "replan_poll_s": 0,
    "plan_interval_s": 0,
    "sla_check_interval_s": 0,
    "overrun_check_interval_s": 0,
    "emergency_retry_interval_s": 0,
    "planner_processes": 0,
    "default_weekly_shifts": None,  # on duty round the clock
}


def _traced(app: FastAPI, exporter: InMemorySpanExporter) -> FastAPI:
    app.state.tracing.provider.add_span_processor(SimpleSpanProcessor(exporter))
    return app


@contextlib.asynccontextmanager
async def _services(
    database_url: str, nats_url: str, keys: Keys, exporter: InMemorySpanExporter
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clock = suite_clock()
    keys_dir = keys.private.parent
    apps = {
        "contracts": contracts_app(
            service_settings(ContractsSettings, database_url, nats_url, keys_dir, **TRACED), clock
        ),
        "requests": requests_app(service_settings(RequestsSettings, database_url, nats_url, keys_dir, **TRACED), clock),
        "dispatch": dispatch_app(
            service_settings(DispatchSettings, database_url, nats_url, keys_dir, **TRACED, **DISPATCH_QUIET), clock
        ),
        "notify": notify_app(service_settings(NotifySettings, database_url, nats_url, keys_dir, **TRACED), clock=clock),
    }
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(running_app(_traced(app, exporter))) for name, app in apps.items()
        }
        yield clients


def _service(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"])


def _in_trace(spans: Sequence[ReadableSpan], trace_id: int) -> list[ReadableSpan]:
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


async def test_one_emergency_is_one_trace_across_the_services(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    exporter = InMemorySpanExporter()
    logs = io.StringIO()
    handler = json_log_handler("traces-test")
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(logs)
    logging.getLogger("fieldline.access").addHandler(handler)
    # the raw messages on the broker, to read their headers
    broker = await nats.connect(nats_server.url)
    seen: list[nats.aio.msg.Msg] = []

    async def keep(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg)

    await broker.subscribe(ServiceRequestCreated.subject, cb=keep)
    await broker.subscribe(AssignmentCreated.subject, cb=keep)
    try:
        async with _services(database_url, nats_server.url, keys, exporter) as api:
            manager = keys.headers(Role.CONTRACT_MANAGER)
            customer = (await api["contracts"].post("/customers", json={"name": "Yalta Fresh"}, headers=manager)).json()
            site = await api["contracts"].post(
                f"/customers/{customer['id']}/sites",
                headers=manager,
                json={"name": "Yalta market", "address": "Moskovskaya 12", "location": {"lat": 44.499, "lon": 34.16}},
            )
            assert site.status_code == 201, site.text
            contract = await api["contracts"].post(
                "/contracts", headers=manager, json=contract_body(customer["id"], [site.json()["id"]])
            )
            assert contract.status_code == 201, contract.text
            activated = await api["contracts"].post(f"/contracts/{contract.json()['id']}/activate", headers=manager)
            assert activated.json()["status"] == "active", activated.text
            technician = await api["dispatch"].post(
                "/technicians",
                headers=keys.headers(Role.DISPATCHER),
                json={"name": "Anna Koval", "skills": {"refrigeration": 3}, "home_base": {"lat": 44.5, "lon": 34.17}},
            )
            assert technician.status_code == 201, technician.text

            filed = await api["requests"].post(
                "/requests",
                headers={
                    **keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(customer["id"])),
                    "Idempotency-Key": "trace-1",
                },
                json={"site_id": site.json()["id"], "kind": "emergency", "description": "Cold room at +9 °C"},
            )
            assert filed.status_code == 201, filed.text
            request_id = filed.json()["id"]

            def filing_span(spans: Sequence[ReadableSpan]) -> ReadableSpan | None:
                return next(
                    (
                        s
                        for s in spans
                        if _service(s) == "requests" and s.kind == SpanKind.SERVER and s.name == "POST /requests"
                    ),
                    None,
                )

            async def finished() -> tuple[ReadableSpan, ...]:
                return exporter.get_finished_spans()

            spans = await eventually(finished, filing_span, what="requests' server span of the filing", timeout_s=30)
            filing = filing_span(spans)
            assert filing is not None and filing.context is not None
            trace_id = filing.context.trace_id

            told = {
                ("notify", f"process {AssignmentCreated.subject}"),
                ("requests", f"process {AssignmentCreated.subject}"),
            }

            def both_told(spans: Sequence[ReadableSpan]) -> bool:
                return told <= {(_service(s), s.name) for s in _in_trace(spans, trace_id)}

            # a bound on waiting for the consumers of both hops, not a speed measured here
            await eventually(finished, both_told, what="notify's and requests' consumers of the booking", timeout_s=30)
            spans = _in_trace(exporter.get_finished_spans(), trace_id)

            async def both_on_the_broker() -> set[str]:
                return {m.subject for m in seen if json.loads(m.data)["data"].get("request_id") == request_id}

            await eventually(
                both_on_the_broker, lambda subjects: len(subjects) == 2, what="the filing's and the booking's messages"
            )
    finally:
        logging.getLogger("fieldline.access").removeHandler(handler)
        await broker.close()

    by_name = {(_service(s), s.name): s for s in spans}
    # contracts answered the entitlement question inside the filing
    entitlement = by_name[("contracts", "fieldline.rpc.contracts.check_entitlement.v1")]
    assert entitlement.parent is not None and entitlement.parent.is_remote
    assert entitlement.parent.span_id == filing.context.span_id
    # dispatch's consumer continued requests' trace from the message headers, as a child of the filing's span
    placed = by_name[("dispatch", f"process {ServiceRequestCreated.subject}")]
    assert placed.kind == SpanKind.CONSUMER
    assert placed.parent is not None and placed.parent.is_remote
    assert placed.parent.span_id == filing.context.span_id
    assert placed.attributes is not None and placed.attributes["messaging.consumer.group.name"] == (
        "dispatch-request-created"
    )
    # the booking dispatch wrote in that consumer (its own SQL) carried the trace on to notify and requests
    told = by_name[("notify", f"process {AssignmentCreated.subject}")]
    assert told.parent is not None and told.parent.span_id == placed.context.span_id
    assert ("requests", f"process {AssignmentCreated.subject}") in by_name

    # the broker's messages carry the W3C header (version-trace-parent-flags): the filing's event, then the booking's
    def traceparent(subject: str) -> list[str]:
        header = next(
            m.headers["traceparent"]
            for m in seen
            if m.subject == subject and m.headers and json.loads(m.data)["data"]["request_id"] == request_id
        )
        return header.split("-")

    hex_trace = format_trace_id(trace_id)
    version, carried_trace, parent, flags = traceparent(ServiceRequestCreated.subject)
    assert (version, carried_trace, parent) == ("00", hex_trace, format_span_id(filing.context.span_id))
    assert int(flags, 16) & 1, "sampled"
    assert traceparent(AssignmentCreated.subject)[1:3] == [hex_trace, format_span_id(placed.context.span_id)]

    # the access line of the filing names the trace and the server span
    access = [json.loads(line) for line in logs.getvalue().splitlines()]
    filing_line = next(line for line in access if line["route"] == "/requests" and line["method"] == "POST")
    assert filing_line["trace_id"] == hex_trace
    assert filing_line["span_id"] == format_span_id(filing.context.span_id)

    # and the outbox rows keep the context they were written under
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT trace_context->>'traceparent' FROM requests.outbox WHERE payload->'data'->>'request_id' = $1"
            " AND subject = $2",
            request_id,
            ServiceRequestCreated.subject,
        )
    finally:
        await conn.close()
    assert stored == "-".join(traceparent(ServiceRequestCreated.subject))


async def test_tracing_off_writes_no_context_and_sends_no_header(
    database_url: str, nats_server: NatsServer, keys: Keys
) -> None:
    settings = service_settings(ContractsSettings, database_url, nats_server.url, keys.private.parent)
    assert settings.tracing_enabled is False  # the default
    app = contracts_app(settings, suite_clock())
    assert app.state.tracing.provider is None
    broker = await nats.connect(nats_server.url)
    seen: list[nats.aio.msg.Msg] = []

    async def keep(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg)

    await broker.subscribe("fieldline.contracts.>", cb=keep)
    try:
        async with running_app(app) as client:
            manager = keys.headers(Role.CONTRACT_MANAGER)
            customer_id = (await client.post("/customers", json={"name": "Kerch Fish"}, headers=manager)).json()["id"]
            site = await client.post(
                f"/customers/{customer_id}/sites",
                headers=manager,
                json={"name": "Kerch port", "address": "Portovaya 1", "location": {"lat": 45.35, "lon": 36.47}},
            )
            contract = await client.post(
                "/contracts", headers=manager, json=contract_body(customer_id, [site.json()["id"]])
            )
            activated = await client.post(f"/contracts/{contract.json()['id']}/activate", headers=manager)
            assert activated.json()["status"] == "active", activated.text

            async def published() -> list[nats.aio.msg.Msg]:
                return [m for m in seen if m.subject == ContractActivated.subject and customer_id in m.data.decode()]

            messages = await eventually(published, what="the customer's event on the broker")
    finally:
        await broker.close()
    assert all("traceparent" not in (m.headers or {}) for m in messages)
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch(
            "SELECT trace_context FROM contracts.outbox WHERE subject = $1 AND payload->'data'->>'customer_id' = $2",
            ContractActivated.subject,
            customer_id,
        )
    finally:
        await conn.close()
    assert stored and all(row["trace_context"] is None for row in stored)
