"""Request/reply over core NATS with queue groups, so any replica can answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from opentelemetry.trace import SpanKind, Tracer
from pydantic import BaseModel, ValidationError

from shared.errors import Unavailable
from shared.metrics import process_metrics
from shared.observability import CORRELATION_HEADER, current_correlation_id, set_correlation_id
from shared.tracing import current_trace_context, trace_context_of

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


class RpcError(BaseModel):
    error: str


async def serve(
    nc: Client,
    subject: str,
    queue: str,
    request_model: type[Req],
    handler: Callable[[Req], Awaitable[BaseModel]],
    *,
    tracer: Tracer | None = None,
) -> Subscription:
    """Answer ``subject`` in queue group ``queue``; each request in a server span continuing the caller's trace."""

    async def _on_request(msg: Msg) -> None:
        if tracer is None:  # tracing off
            await _answer(msg)
            return
        with tracer.start_as_current_span(
            subject,
            context=trace_context_of(msg.headers),
            kind=SpanKind.SERVER,
            attributes={"rpc.system": "nats", "rpc.method": subject},
        ):
            await _answer(msg)

    async def _answer(msg: Msg) -> None:
        set_correlation_id((msg.headers or {}).get(CORRELATION_HEADER))
        try:
            request = request_model.model_validate_json(msg.data)
            reply: BaseModel = await handler(request)
        except ValidationError as exc:
            reply = RpcError(error=f"invalid request: {exc.errors()[:3]}")
        except Exception as exc:
            log.exception("rpc %s failed", subject)
            reply = RpcError(error=f"internal error: {type(exc).__name__}")
        finally:
            set_correlation_id(None)
        await msg.respond(reply.model_dump_json().encode())

    return await nc.subscribe(subject, queue=queue, cb=_on_request)


async def call(
    nc: Client, subject: str, request: BaseModel, response_model: type[Res], *, timeout_s: float = 3.0
) -> Res:
    headers = current_trace_context() or {}
    correlation_id = current_correlation_id()
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    started, outcome = time.perf_counter(), "unavailable"
    try:
        try:
            msg = await nc.request(subject, request.model_dump_json().encode(), timeout=timeout_s, headers=headers)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, TimeoutError) as exc:
            raise Unavailable(f"{subject} did not answer: {type(exc).__name__}") from exc
        try:
            answer = response_model.model_validate_json(msg.data)
        except ValidationError:
            outcome = "error"
            error = RpcError.model_validate_json(msg.data)
            raise Unavailable(f"{subject} failed: {error.error}") from None
        outcome = "ok"
        return answer
    finally:
        process_metrics().rpc_duration.labels(subject, outcome).observe(time.perf_counter() - started)
