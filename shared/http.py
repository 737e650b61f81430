"""The HTTP edge every service shares: problem+json, SSE responses, correlation ids, health and readiness."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import database_unreachable
from shared.errors import DomainError, Unavailable
from shared.observability import CORRELATION_HEADER, new_correlation_id, set_correlation_id
from shared.ratelimit import per_ip

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://fieldline.dev/problems/"
PROBLEM_JSON = "application/problem+json"


def problem_body(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem document (for the response, or for storing an answer to replay later)."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def domain_problem_body(exc: DomainError, *, instance: str | None = None) -> dict[str, Any]:
    return problem_body(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        instance=instance,
        errors=[{"field": p.field, "reason": p.reason} for p in exc.problems] or None,
    )


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> JSONResponse:
    return problem_response(problem_body(status, slug, title, detail, instance=instance, errors=errors))


def problem_response(body: dict[str, Any], *, retry_after_s: int | None = None) -> JSONResponse:
    status = int(body["status"])
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if retry_after_s is not None:
        headers["Retry-After"] = str(max(0, retry_after_s))
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def sse_response(frames: AsyncIterator[str]) -> StreamingResponse:
    """A live stream of SSE frames; no proxy may cache or buffer it."""
    return StreamingResponse(
        frames, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(domain_problem_body(exc, instance=request.url.path), retry_after_s=exc.retry_after_s)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "invalid-input", "Invalid input", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(exc.status_code, "http-error")
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if database_unreachable(exc):
            log.warning("database unreachable on %s %s: %r", request.method, request.url.path, exc)
            return problem_response(
                domain_problem_body(
                    Unavailable("the database is unreachable; retry shortly"), instance=request.url.path
                ),
                retry_after_s=Unavailable.retry_after_s,
            )
        # Logged with the correlation id; the client gets no internals, only the id to quote.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        correlation_id = getattr(request.state, "correlation_id", None) or request.headers.get(CORRELATION_HEADER)
        detail = "The server failed to handle this request; it has been logged"
        detail += f" under correlation id {correlation_id}." if correlation_id else "."
        response = problem(500, "internal-error", "Internal server error", detail, instance=request.url.path)
        if correlation_id:
            response.headers[CORRELATION_HEADER] = correlation_id
        return response


def install_correlation_middleware(app: FastAPI) -> None:
    @app.middleware("http")
    async def _correlation(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        correlation_id = request.headers.get(CORRELATION_HEADER) or new_correlation_id()
        set_correlation_id(correlation_id)
        request.state.correlation_id = correlation_id  # for the 500 handler, which runs outside this middleware
        try:
            response = await call_next(request)
        finally:
            set_correlation_id(None)
        response.headers[CORRELATION_HEADER] = correlation_id
        return response


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        dependencies=[Depends(per_ip("readyz"))],
        summary="Ready to take work: the database answers (NATS may be away: the outbox holds events)",
    )
    async def readyz(request: Request) -> JSONResponse:
        runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        try:
            async with asyncio.timeout(2):
                async with runtime.db.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        # A broker outage must not take every replica out of service: writes commit with their events in the
        # outbox, which the relay publishes when NATS is back. Readiness follows the database alone.
        checks["nats"] = "ok" if runtime.nc.is_connected else "disconnected: events wait in the outbox"
        ready = checks["database"] == "ok"
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
            headers=None if ready else {"Retry-After": "5"},
        )

    return router
