"""Traces (OpenTelemetry): one trace from the HTTP request through the outbox, NATS and the consumers.

Off by default: no tracer provider is built, the FastAPI app is not instrumented, and the messaging code makes
no spans (a context variable read per event written, nothing else). On
(`FIELDLINE_TRACING_ENABLED`), each app gets its own SDK `TracerProvider` (`service.name` is the service), its
FastAPI routes make server spans, and the trace context crosses the asynchronous hops as W3C Trace Context:

- an outbox row keeps the context current when its event was written (`trace_context`, the `traceparent` /
  `tracestate` carrier), captured by `shared.messaging.outbox.outbox_row`;
- the relay copies it into the NATS message's headers;
- a consumer starts its `process <subject>` span as a child of the headers' context, so what its handler writes
  to the outbox carries the same trace on; request/reply calls carry it the same way.

Spans go to an OTLP/HTTP collector (`FIELDLINE_TRACES_EXPORTER=otlp`, the default once enabled; the endpoint
from `FIELDLINE_TRACES_OTLP_ENDPOINT` or the SDK's own `OTEL_EXPORTER_OTLP_*` variables), or nowhere
(`none`: trace ids in the logs only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:  # the SDK and the instrumentation are imported when tracing is on (150 ms of every start)
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

__all__ = [
    "TRACE_HEADERS",
    "Tracing",
    "current_trace_context",
    "log_trace_ids",
    "trace_context_of",
    "trace_headers",
]

INSTRUMENTATION = "fieldline"
# the W3C Trace Context headers, the only ones an outbox row keeps and a NATS message carries for tracing
TRACE_HEADERS = ("traceparent", "tracestate")
# probes and scrapes every few seconds would drown the traces
_UNTRACED_URLS = "/healthz$,/readyz$,/metrics$"
_propagator = TraceContextTextMapPropagator()

TracesExporter = Literal["otlp", "none"]


def current_trace_context() -> dict[str, str] | None:
    """The current span's context as a W3C carrier (`traceparent`, maybe `tracestate`), or None outside any span."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier or None


def trace_headers(trace_context: Mapping[str, object] | None) -> dict[str, str]:
    """The W3C headers of a stored carrier (anything else in it is dropped)."""
    if not trace_context:
        return {}
    return {name: value for name in TRACE_HEADERS if isinstance(value := trace_context.get(name), str)}


def trace_context_of(headers: Mapping[str, str] | None) -> Context:
    """The remote parent a message's headers name (an empty context when they name none)."""
    return _propagator.extract(trace_headers(headers))


def log_trace_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the current span, for log lines; None outside any span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return trace.format_trace_id(span_context.trace_id), trace.format_span_id(span_context.span_id)


@dataclass(frozen=True)
class Tracing:
    """One app's tracing: its provider and the tracer the messaging code starts spans with (both None when off)."""

    provider: TracerProvider | None
    tracer: Tracer | None

    @classmethod
    def off(cls) -> Tracing:
        return cls(provider=None, tracer=None)

    @classmethod
    def build(
        cls,
        service: str,
        *,
        enabled: bool,
        exporter: TracesExporter = "otlp",
        otlp_endpoint: str | None = None,
        sample_ratio: float = 1.0,
    ) -> Tracing:
        """The tracing the settings describe. Sampling follows the caller's decision when a request or message
        carries one, else keeps ``sample_ratio`` of new traces."""
        if not enabled:
            return cls.off()
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "fieldline"}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        if exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        return cls(provider=provider, tracer=provider.get_tracer(INSTRUMENTATION))

    def instrument(self, app: FastAPI) -> None:
        """Server spans for the app's routes (named by route template), probes and scrapes left out."""
        if self.provider is None:
            return
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls=_UNTRACED_URLS,
            exclude_spans=["receive", "send"],  # one span per ASGI message is noise
        )

    def shutdown(self) -> None:
        """Export what is buffered, then stop (the end of the app's lifespan)."""
        if self.provider is not None:
            self.provider.shutdown()
