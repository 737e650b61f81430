"""Tracing by setting: off builds nothing; otlp sends the spans to a collector over OTLP/HTTP (a real HTTP server
here, decoding the protobuf as a collector would); the W3C carrier keeps only its own headers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from shared.tracing import Tracing, current_trace_context, log_trace_ids, trace_context_of, trace_headers


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", _Collector.received
    server.shutdown()
    server.server_close()


def test_off_builds_no_provider_and_no_tracer() -> None:
    tracing = Tracing.build("requests", enabled=False)
    assert tracing.provider is None and tracing.tracer is None
    assert current_trace_context() is None and log_trace_ids() is None


def test_otlp_exports_the_spans_with_the_service_name(collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    endpoint, received = collector
    tracing = Tracing.build("dispatch", enabled=True, exporter="otlp", otlp_endpoint=endpoint)
    assert tracing.tracer is not None
    with tracing.tracer.start_as_current_span("place emergency"):
        carrier = current_trace_context()
        ids = log_trace_ids()
    tracing.shutdown()  # flushes the batch

    assert carrier is not None and ids is not None
    assert carrier["traceparent"].split("-")[1:3] == list(ids)
    assert [path for path, _ in received] == ["/v1/traces"]
    export = ExportTraceServiceRequest.FromString(received[0][1])
    (resource_spans,) = export.resource_spans
    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert attributes["service.name"] == "dispatch" and attributes["service.namespace"] == "fieldline"
    (span,) = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert span.name == "place emergency" and span.trace_id.hex() == ids[0]


def test_the_sample_ratio_zero_keeps_no_new_trace(collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    endpoint, received = collector
    tracing = Tracing.build("notify", enabled=True, otlp_endpoint=endpoint, sample_ratio=0.0)
    assert tracing.tracer is not None
    with tracing.tracer.start_as_current_span("unsampled") as span:
        assert not span.is_recording()
    tracing.shutdown()
    assert received == []


def test_a_carrier_keeps_only_the_w3c_headers_and_parents_a_span() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {"traceparent": parent, "tracestate": "vendor=1", "Nats-Msg-Id": "x", "X-Correlation-Id": "y"}
    assert trace_headers(headers) == {"traceparent": parent, "tracestate": "vendor=1"}
    assert trace_headers(None) == {} and trace_headers({"traceparent": 1}) == {}
    tracing = Tracing.build("requests", enabled=True, exporter="none")
    assert tracing.tracer is not None
    with tracing.tracer.start_as_current_span("process", context=trace_context_of(headers)) as span:
        assert span.get_span_context().trace_id == 0x0AF7651916CD43DD8448EB211C80319C
        assert span.parent is not None and span.parent.span_id == 0xB7AD6B7169203331  # type: ignore[attr-defined]
    tracing.shutdown()
