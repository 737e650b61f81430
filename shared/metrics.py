"""Prometheus metrics of a Fieldline process: every family is defined here, and `/metrics` serves them.

Each process exposes only its own numbers (no shared in-memory aggregation): Prometheus scrapes every replica
and adds `job`/`instance`; sums across replicas happen in PromQL. Families that a hook in shared code feeds
carry a `service` label, because the tests run the four apps in one process.

Families named `fieldline_*`, plus the standard HTTP server ones (`http_server_requests_total`,
`http_server_request_duration_seconds`, labelled by route template, never by raw path).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from sqlalchemy import func, select

if TYPE_CHECKING:
    from shared.service import Runtime

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# seconds; from a fast HTTP answer to a planner run with a time limit of a minute
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
SCRAPE_QUERY_TIMEOUT_S = 1.0


class FieldlineMetrics:
    """The metric families, registered in one registry (the process's by default)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        kw: dict[str, Any] = {"registry": registry}
        self.http_requests = Counter(
            "http_server_requests", "HTTP requests answered", ["service", "method", "route", "status"], **kw
        )
        self.http_duration = Histogram(
            "http_server_request_duration_seconds",
            "HTTP request duration until the response starts (a live stream counts until its headers)",
            ["service", "method", "route"],
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.outbox_pending = Gauge(
            "fieldline_outbox_pending_events", "Outbox rows not yet published (read at scrape time)", ["service"], **kw
        )
        self.outbox_oldest_age = Gauge(
            "fieldline_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox row; 0 when none (read at scrape time)",
            ["service"],
            **kw,
        )
        self.scrape_errors = Counter(
            "fieldline_metrics_scrape_query_errors",
            "Scrape-time queries that failed or timed out (the gauges keep their last value)",
            ["service", "query"],
            **kw,
        )
        labels = ["consumer", "subject"]
        self.consumer_deliveries = Counter(
            "fieldline_consumer_deliveries", "Messages delivered to a durable consumer", labels, **kw
        )
        self.consumer_redeliveries = Counter(
            "fieldline_consumer_redeliveries", "Deliveries that were not the message's first", labels, **kw
        )
        self.consumer_acks = Counter("fieldline_consumer_acks", "Messages handled and acknowledged", labels, **kw)
        self.consumer_naks = Counter(
            "fieldline_consumer_naks", "Messages handed back for a later retry (transient failure)", labels, **kw
        )
        self.consumer_dead_letters = Counter(
            "fieldline_consumer_dead_letters", "Messages recorded as dead letters and terminated", labels, **kw
        )
        self.consumer_pending = Gauge(
            "fieldline_consumer_pending_messages",
            "Messages in the stream not yet delivered to the durable consumer (the broker's count, read at scrape "
            "time; every replica reports the same durable: aggregate with max)",
            ["consumer"],
            **kw,
        )
        self.consumer_ack_pending = Gauge(
            "fieldline_consumer_ack_pending_messages",
            "Messages delivered to the durable consumer and not yet acknowledged (read at scrape time)",
            ["consumer"],
            **kw,
        )
        self.events_published = Counter(
            "fieldline_events_published",
            "Events the outbox relay published, by subject (a batch whose commit fails is published and counted again)",
            ["subject"],
            **kw,
        )
        self.rpc_duration = Histogram(
            "fieldline_rpc_client_duration_seconds",
            "Request/reply calls over NATS, by subject and outcome (ok, error, unavailable)",
            ["subject", "outcome"],
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.planner_runs = Counter("fieldline_planner_runs", "Re-planning runs by status", ["status"], **kw)
        self.planner_duration = Histogram(
            "fieldline_planner_run_duration_seconds",
            "Re-planning run time (snapshot, solve, persist) by status",
            ["status"],
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.emergency_placement = Histogram(
            "fieldline_emergency_placement_duration_seconds",
            "Reactive placement of one emergency, by outcome (placed, unplaceable, error)",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            **kw,
        )
        self.sse_connections = Gauge(
            "fieldline_sse_connections", "Live server-sent-event streams open", ["service"], **kw
        )
        self.db_pool_in_use = Gauge(
            "fieldline_db_pool_connections_in_use", "Database connections checked out of the pool", ["service"], **kw
        )
        self.db_pool_size = Gauge(
            "fieldline_db_pool_size", "Database connections the pool keeps (overflow comes on top)", ["service"], **kw
        )
        self.notify_deliveries = Counter(
            "fieldline_notify_deliveries",
            "Notification delivery attempts by channel and outcome (sent, retry, failed, dead)",
            ["channel", "outcome"],
            **kw,
        )

    # -- hooks: one call (or decorator) at each place that knows the fact ------------------------------------

    def consumer_outcome(self, consumer: str, subject: str, outcome: str) -> None:
        """outcome: ack, nak or dead_letter."""
        counter = {"ack": self.consumer_acks, "nak": self.consumer_naks, "dead_letter": self.consumer_dead_letters}
        counter[outcome].labels(consumer, subject).inc()

    def consumer_delivery(self, consumer: str, subject: str, num_delivered: int) -> None:
        self.consumer_deliveries.labels(consumer, subject).inc()
        if num_delivered > 1:
            self.consumer_redeliveries.labels(consumer, subject).inc()

    async def refresh_scrape_time(self, runtime: Runtime) -> None:
        """Gauges read when Prometheus asks, each read bounded by a timeout: the pool's use, the outbox backlog
        (one query) and each durable consumer's backlog at the broker."""
        service = runtime.settings.service_name
        pool: Any = runtime.db.engine.pool
        if hasattr(pool, "checkedout"):
            self.db_pool_in_use.labels(service).set(pool.checkedout())
            self.db_pool_size.labels(service).set(pool.size())
        await self._refresh_outbox(runtime)
        await self._refresh_consumer_lag(runtime)

    async def _refresh_outbox(self, runtime: Runtime) -> None:
        service = runtime.settings.service_name
        outbox = runtime.tables.outbox
        try:
            async with asyncio.timeout(SCRAPE_QUERY_TIMEOUT_S):
                async with runtime.db.engine.connect() as conn:
                    row = (
                        await conn.execute(
                            select(
                                func.count(),
                                func.coalesce(func.extract("epoch", func.now() - func.min(outbox.c.created_at)), 0),
                            ).where(outbox.c.published_at.is_(None))
                        )
                    ).one()
        except Exception as exc:
            log.warning("outbox metrics query failed: %r", exc)
            self.scrape_errors.labels(service, "outbox").inc()
            return
        self.outbox_pending.labels(service).set(row[0])
        self.outbox_oldest_age.labels(service).set(max(float(row[1]), 0.0))

    async def _refresh_consumer_lag(self, runtime: Runtime) -> None:
        for consumer in getattr(runtime, "consumers", ()):
            durable = consumer.sub.durable
            try:
                async with asyncio.timeout(SCRAPE_QUERY_TIMEOUT_S):
                    info = await runtime.js.consumer_info(consumer.stream, durable)
            except Exception as exc:
                log.debug("consumer info for %s failed: %r", durable, exc)
                self.scrape_errors.labels(runtime.settings.service_name, "consumer_info").inc()
                continue
            self.consumer_pending.labels(durable).set(info.num_pending or 0)
            self.consumer_ack_pending.labels(durable).set(info.num_ack_pending or 0)


@functools.cache
def process_metrics() -> FieldlineMetrics:
    """This process's metrics (created on first use, not at import), in prometheus_client's process registry."""
    return FieldlineMetrics(PROCESS_REGISTRY)


def observe_planner_run(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorates a re-planning run: its duration and status (ok, or the exception's class name)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        status = "ok"
        try:
            return await fn(*args, **kwargs)
        except BaseException as exc:
            status = type(exc).__name__
            raise
        finally:
            metrics = process_metrics()
            metrics.planner_runs.labels(status).inc()
            metrics.planner_duration.labels(status).observe(time.perf_counter() - started)

    return wrapper


def observe_placement(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorates an emergency placement: its latency, by outcome (placed: a result; unplaceable: None; error)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await fn(*args, **kwargs)
            outcome = "unplaceable" if result is None else "placed"
            return result
        finally:
            process_metrics().emergency_placement.labels(outcome).observe(time.perf_counter() - started)

    return wrapper


def metrics_router() -> APIRouter:
    """`GET /metrics` in Prometheus' text format; unauthenticated (see docs/operations.md for fencing it)."""
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics of this process (unauthenticated; `metrics_enabled`)")
    async def metrics(request: Request) -> Response:
        runtime = getattr(request.app.state, "runtime", None)
        registry = process_metrics()
        if runtime is not None:
            await registry.refresh_scrape_time(runtime)
        return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)

    return router
