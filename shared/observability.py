"""JSON logs, the access line of every request, and the correlation id carried from HTTP headers into NATS
headers and back.

A log line is one JSON object: `time` (ISO 8601 UTC with milliseconds, `2026-12-04T18:55:25.126Z`), `level`,
`logger`, `message`, `service`, `correlation_id`, inside a trace `trace_id` and `span_id` (shared/tracing.py), and
the record's extra fields as fields (the access line: `method`, `route`, `path`, `status`, `duration_ms`).
uvicorn's own access log is off (shared.entrypoint) and its ANSI `color_message` field is dropped.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import error_without_values
from shared.tracing import log_trace_ids

if TYPE_CHECKING:
    from shared.metrics import FieldlineMetrics

CORRELATION_HEADER = "X-Correlation-Id"
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
access_log = logging.getLogger("fieldline.access")
# probes and scrapes come every few seconds from every kubelet and Prometheus: their access lines are DEBUG
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> None:
    _correlation_id.set(value)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def iso_utc(epoch_s: float) -> str:
    """`2026-12-04T18:55:25.126Z`: the one timestamp format of the logs."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _UtcJsonFormatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_utc(record.created)

    def formatException(self, ei: Any) -> str:
        """A database error's traceback without its message, which may repeat a customer's data (shared.db)."""
        withheld = error_without_values(ei[1]) if ei and ei[1] is not None else None
        if withheld is None:
            return str(super().formatException(ei))
        return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(ei[2])) + withheld


class _CorrelationFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = getattr(record, "correlation_id", None) or _correlation_id.get()
        record.service = self.service
        if (ids := log_trace_ids()) is not None:
            record.trace_id, record.span_id = ids
        record.__dict__.pop("color_message", None)  # uvicorn's copy of the message with ANSI codes
        return True


def json_log_handler(service: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _UtcJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_CorrelationFilter(service))
    return handler


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON object per line on stderr, each with the service name and the correlation id (probes and scrapes
    that succeed log their access line at DEBUG)."""
    root = logging.getLogger()
    root.handlers[:] = [json_log_handler(service)]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []  # through the root's JSON handler only
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/requests/{request_id}`), never the raw path (unbounded labels)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else "unmatched"


class AccessMiddleware:
    """Outermost ASGI middleware: one access log line and the HTTP metrics per request; counts open SSE streams.

    The latency histogram observes the time to the response's start (a live stream would otherwise count its
    whole life); the access line's `duration_ms` is the whole exchange."""

    def __init__(self, app: ASGIApp, service: str, metrics: FieldlineMetrics) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "correlation_id": None, "stream": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name.lower() == CORRELATION_HEADER.lower().encode():
                        state["correlation_id"] = value.decode("latin-1")
                    elif name.lower() == b"content-type" and value.startswith(b"text/event-stream"):
                        state["stream"] = True
                        self.metrics.sse_connections.labels(self.service).inc()
                self.metrics.http_duration.labels(self.service, scope["method"], route_template(scope)).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            # an unhandled error's 500 is sent by Starlette outside this middleware: take the id the correlation
            # middleware left in the request's state
            state["correlation_id"] = state["correlation_id"] or (scope.get("state") or {}).get("correlation_id")
            if state["stream"]:
                self.metrics.sse_connections.labels(self.service).dec()
            self.metrics.http_requests.labels(self.service, scope["method"], route, str(state["status"])).inc()
            access_log.log(
                logging.DEBUG if route in QUIET_ROUTES and state["status"] < 400 else logging.INFO,
                "%s %s %s",
                scope["method"],
                route,
                state["status"],
                extra={
                    "method": scope["method"],
                    "route": route,
                    "path": scope.get("path"),
                    "status": state["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "correlation_id": state["correlation_id"],
                },
            )
