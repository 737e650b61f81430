"""What every service process runs: engine, NATS, streams, outbox relay, consumers, and the FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi_offline import FastAPIOffline
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry.trace import Tracer

from shared.auth.claims import ClaimMapping
from shared.auth.keys import ensure_local_keypair
from shared.auth.tokens import TokenVerifier
from shared.clock import Clock
from shared.db import Database, create_engine
from shared.http import health_router, install_correlation_middleware, install_problem_handlers
from shared.limits import BodyLimit, BodySizeLimitMiddleware
from shared.messaging.connection import connect, ensure_stream
from shared.messaging.consumer import IdempotentConsumer, Subscription
from shared.messaging.outbox import OutboxRelay
from shared.messaging.permissions import inbox_prefix
from shared.messaging.tables import MessagingTables
from shared.metrics import metrics_router, process_metrics
from shared.observability import AccessMiddleware, configure_logging
from shared.openapi import install as install_openapi
from shared.ratelimit import RateLimiter
from shared.security_headers import SecurityHeadersMiddleware
from shared.settings import ServiceSettings
from shared.streams import StreamGate
from shared.text import refuse_unstorable_text
from shared.tracing import Tracing

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running service holds; built in the lifespan, reachable as `app.state.runtime`."""

    settings: ServiceSettings
    clock: Clock
    db: Database
    nc: Client
    js: JetStreamContext
    tables: MessagingTables
    relay: OutboxRelay
    # spans of the messaging code (consumers, request/reply servers); None when tracing is off
    tracer: Tracer | None = None
    consumers: list[IdempotentConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def every(self, seconds: float, name: str, work: Callable[[], Awaitable[object]], *, now: bool = True) -> None:
        """Run ``work`` every ``seconds`` of the service's clock (first at once when ``now``, else after a first
        wait) until shutdown cancels the task; a failed round is logged and the loop goes on. ``seconds`` <= 0:
        not at all."""
        if seconds > 0:
            self.tasks.append(asyncio.create_task(_every(self.clock, seconds, name, work, now), name=name))


async def _every(clock: Clock, seconds: float, name: str, work: Callable[[], Awaitable[object]], now: bool) -> None:
    if not now:
        await clock.sleep(seconds)
    while True:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; next round in %s s", name, seconds)
        await clock.sleep(seconds)


@dataclass(frozen=True)
class ServiceSpec:
    """What makes one service different from another."""

    title: str
    producer: str
    tables: MessagingTables
    routers: Sequence[APIRouter]
    subscriptions: Callable[[Runtime], list[Subscription]] = lambda runtime: []
    # extra startup work (request/reply servers, background loops); cleaned up in reverse order
    on_start: Sequence[Callable[[Runtime], AbstractAsyncContextManager[None]]] = ()
    # paths (regexes, matched in full) whose bodies are uploads: `upload_body_limit_bytes` instead of the JSON limit
    upload_paths: Sequence[str] = ()
    # paths (regexes, in full) whose pages carry a secret in the URL (never cached), and HTML others may frame
    no_store_paths: Sequence[str] = ()
    frameable_paths: Sequence[str] = ()


class ProductionRefused(RuntimeError):
    """Settings unfit for production (FIELDLINE_ENV=production): the service does not start."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("refusing to start in production: " + "; ".join(problems))
        self.problems = problems


def make_verifier(settings: ServiceSettings) -> TokenVerifier:
    claims = ClaimMapping(
        role=settings.jwt_role_claim,
        customer_id=settings.jwt_customer_id_claim,
        technician_id=settings.jwt_technician_id_claim,
        name=settings.jwt_name_claim,
        role_map=settings.jwt_role_map,
    )
    if settings.jwt_jwks_url:
        return TokenVerifier(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks_url=settings.jwt_jwks_url,
            jwks_cache_s=settings.jwt_jwks_cache_s,
            claims=claims,
        )
    if not settings.production:  # production verifies with the operator's key and never makes one
        ensure_local_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    return TokenVerifier(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        public_key_file=settings.jwt_public_key_file,
        claims=claims,
    )


async def _drain(runtime: Runtime, drain_s: float) -> None:
    """Graceful shutdown, after the server stopped taking requests: consumers stop fetching and finish the
    message in hand (the rest of a batch goes back to the broker), the relay publishes what is committed,
    and whatever is still running after ``drain_s`` is cancelled (its message is redelivered, its
    transaction rolled back: nothing is lost or half-done)."""
    consumer_tasks = [t for t in runtime.tasks if t.get_name().startswith("consumer-")]
    for consumer in runtime.consumers:
        consumer.stop()
    if consumer_tasks:
        await asyncio.wait(consumer_tasks, timeout=drain_s)
    with contextlib.suppress(Exception):  # the broker may be away: the outbox keeps the rest
        await asyncio.wait_for(runtime.relay.publish_batch(), timeout=min(drain_s, 5.0))
    for task in runtime.tasks:
        task.cancel()
    # a loop stuck in a client call must not hold shutdown hostage
    if runtime.tasks:
        await asyncio.wait(runtime.tasks, timeout=10)


# every route of every service: unstorable text (NUL, lone surrogates) is a 422 naming the field, not a 500
_APP_DEPENDENCIES = [Depends(refuse_unstorable_text)]


def create_service_app(settings: ServiceSettings, spec: ServiceSpec, clock: Clock | None = None) -> FastAPI:
    """The service's app; ``clock`` defaults to the one the settings describe and is `app.state.clock`."""
    clock = clock or settings.make_clock()
    if settings.production and (problems := settings.production_problems()):
        raise ProductionRefused(problems)
    tracing = Tracing.build(
        settings.service_name,
        enabled=settings.tracing_enabled,
        exporter=settings.traces_exporter,
        otlp_endpoint=settings.traces_otlp_endpoint,
        sample_ratio=settings.traces_sample_ratio,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(create_engine(settings))
        nc = await connect(
            settings.nats_url,
            name=f"fieldline-{settings.service_name}",
            user=settings.nats_user,
            password=settings.nats_password.get_secret_value() if settings.nats_password else None,
            inbox_prefix=inbox_prefix(spec.producer),
            ca_file=settings.nats_ca_file,
        )
        js = nc.jetstream()

        async def _declare_stream(producer: str) -> None:
            await ensure_stream(
                js,
                producer,
                replicas=settings.nats_stream_replicas,
                duplicate_window_s=settings.nats_duplicate_window_s,
            )

        await _declare_stream(spec.producer)
        relay = OutboxRelay(
            db,
            spec.tables,
            js,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            on_missing_stream=lambda: _declare_stream(spec.producer),
        )
        runtime = Runtime(
            settings=settings, clock=clock, db=db, nc=nc, js=js, tables=spec.tables, relay=relay, tracer=tracing.tracer
        )
        app.state.runtime = runtime
        limiter = RateLimiter(db, clock, enabled=settings.rate_limits_enabled)
        runtime.extras["rate_limiter"] = limiter
        runtime.every(600, "rate-limit-sweep", limiter.forget_old_windows, now=False)
        runtime.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        # each service declares only its own stream: a consumer waits (retrying) until the producer has declared its
        subscriptions = spec.subscriptions(runtime)
        for subscription in subscriptions:
            consumer = IdempotentConsumer(
                nc,
                js,
                db,
                spec.tables,
                subscription,
                batch_size=settings.consumer_batch_size,
                max_deliver=settings.consumer_max_deliver,
                ack_wait_s=settings.consumer_ack_wait_s,
                service_producer=spec.producer,
                clock=clock,
                tracer=tracing.tracer,
            )
            runtime.consumers.append(consumer)
            runtime.tasks.append(asyncio.create_task(consumer.run(), name=f"consumer-{subscription.durable}"))
        async with contextlib.AsyncExitStack() as stack:
            for start in spec.on_start:
                await stack.enter_async_context(start(runtime))
            log.info("%s ready on %s:%s", settings.service_name, settings.host, settings.port)
            try:
                yield
            finally:
                await _drain(runtime, settings.shutdown_drain_s)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), timeout=5)
        await db.dispose()
        await asyncio.to_thread(tracing.shutdown)  # the last spans go out (a slow collector blocks no loop)

    configure_logging(settings.service_name, settings.log_level)
    if settings.show_docs:
        # Swagger UI and ReDoc from the package's bundled assets: /docs works with no internet.
        app = FastAPIOffline(title=spec.title, version="0.1.0", lifespan=lifespan, dependencies=_APP_DEPENDENCIES)
    else:
        app = FastAPI(
            title=spec.title,
            version="0.1.0",
            lifespan=lifespan,
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
            dependencies=_APP_DEPENDENCIES,
        )
    app.state.settings = settings
    app.state.clock = clock
    app.state.tracing = tracing
    app.state.verifier = make_verifier(settings)
    app.state.stream_gate = StreamGate(settings.sse_max_per_principal, settings.sse_max_per_process)
    install_problem_handlers(app)
    install_correlation_middleware(app)
    app.add_middleware(
        SecurityHeadersMiddleware, no_store_paths=spec.no_store_paths, frameable_paths=spec.frameable_paths
    )
    # a body over its limit is refused before parsing and before authentication (inside the access log only,
    # so a 413 is logged and counted like any answer)
    app.add_middleware(
        BodySizeLimitMiddleware,
        default_max_bytes=settings.body_limit_bytes,
        limits=[BodyLimit(path, settings.upload_body_limit_bytes) for path in spec.upload_paths],
    )
    # added last, so outermost: it sees the final status and the correlation id header
    app.add_middleware(AccessMiddleware, service=settings.service_name, metrics=process_metrics())
    app.include_router(health_router())
    if settings.metrics_enabled:
        app.include_router(metrics_router())
    for router in spec.routers:
        app.include_router(router)
    install_openapi(app)
    tracing.instrument(app)  # outermost of all: the access line and the error handlers run inside the span
    return app
