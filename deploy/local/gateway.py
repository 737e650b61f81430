"""The local single origin: the built web apps under /console/, /tech/, /portal/, /manage/ and the four
services' APIs under /api/<service>/ — the layout the Kubernetes Ingress (deploy/k8s/ingress.yaml) gives
production.

Responses stream through chunk by chunk (server-sent events arrive as the upstream writes them); an
upstream that cannot be reached is a 502 problem+json naming it.

    python -m deploy.local.gateway   (FIELDLINE_GATEWAY_PORT, default 8000; upstream ports from the services' settings)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from shared.settings import REPO_ROOT

WEB_APPS = ("console", "tech", "portal", "manage")
DEFAULT_PORT = 8000

# RFC 9110 §7.6.1 hop-by-hop headers, plus those the client library recomputes.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


@dataclass(frozen=True)
class GatewayConfig:
    upstreams: Mapping[str, str]  # service name -> base URL, e.g. "dispatch" -> "http://127.0.0.1:8001"
    web_root: Path  # holds <app>/dist/ for each built web app


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def _forwarded_headers(request: Request) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP]
    client = request.client.host if request.client else ""
    headers.append(("x-forwarded-for", client))
    headers.append(("x-forwarded-proto", request.url.scheme))
    headers.append(("x-forwarded-host", request.headers.get("host", "")))
    return headers


async def _proxy(request: Request) -> Response:
    config: GatewayConfig = request.app.state.config
    client: httpx.AsyncClient = request.app.state.http
    service = request.path_params["service"]
    base = config.upstreams.get(service)
    if base is None:
        return _problem(404, "Not Found", f"no API named {service!r}; known: {', '.join(sorted(config.upstreams))}")
    path = request.path_params["path"]
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    upstream_request = client.build_request(
        request.method,
        f"{base}/{path}",
        params=request.url.query,
        headers=_forwarded_headers(request),
        content=request.stream() if has_body else None,
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.HTTPError as exc:
        return _problem(502, "Bad Gateway", f"the {service} service did not answer: {type(exc).__name__}")
    headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
    if upstream.headers.get("content-type", "").startswith("text/event-stream"):
        headers["x-accel-buffering"] = "no"  # any proxy in front of this one must not buffer either
        headers["cache-control"] = "no-cache"
    return StreamingResponse(
        _relay(upstream),
        status_code=upstream.status_code,
        headers=headers,
        background=BackgroundTask(upstream.aclose),
    )


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    # aiter_raw yields each chunk as it arrives (no decoding, no re-chunking), so SSE frames are not held back.
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        return  # the upstream went away mid-body; the client sees the stream end


def _web_file(request: Request) -> Response:
    config: GatewayConfig = request.app.state.config
    app_name = request.path_params["app"]
    rel = request.path_params.get("path", "")
    if app_name not in WEB_APPS:
        return _problem(404, "Not Found", f"no web app {app_name!r}")
    dist = (config.web_root / app_name / "dist").resolve()
    index = dist / "index.html"
    if not index.is_file():
        return _problem(503, "Service Unavailable", f"the {app_name} app is not built (run `make web`)")
    if any(part in ("..", ".") or "\\" in part for part in rel.split("/")):
        return _problem(404, "Not Found", "no such file")
    candidate = (dist / rel).resolve()
    if not candidate.is_relative_to(dist):
        return _problem(404, "Not Found", "no such file")
    if rel and candidate.is_file():
        # Vite's hashed assets never change under a name; the index and other files are revalidated.
        immutable = rel.startswith("assets/")
        return FileResponse(
            candidate, headers={"cache-control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
        )
    if rel.startswith("assets/") or "." in rel.rsplit("/", 1)[-1]:
        return _problem(404, "Not Found", "no such file")
    # Client-side routes (e.g. /console/jobs/123) are the app's: serve its index.
    return FileResponse(index, headers={"cache-control": "no-cache"})


def _app_root_redirect(request: Request) -> Response:
    if request.path_params["app"] not in WEB_APPS:
        return _problem(404, "Not Found", "no such page")
    return RedirectResponse(f"/{request.path_params['app']}/", status_code=308)


def _request_link(request: Request) -> Response:
    """The e-mails' `{PUBLIC_BASE_URL}/requests/{id}` lands on the customer portal's page of that request."""
    return RedirectResponse(f"/portal/requests/{request.path_params['request_id']}", status_code=308)


def _home(_request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


def create_app(config: GatewayConfig, *, extra_routes: list[Route] | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # No read timeout: event streams stay open for hours; connecting is bounded.
        timeout = httpx.Timeout(connect=5.0, read=None, write=30.0, pool=10.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as http:
            app.state.http = http
            yield

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    routes = [
        Route("/", _home),
        *(extra_routes or []),
        Route("/api/{service}/{path:path}", _proxy, methods=methods),
        Route("/requests/{request_id:uuid}", _request_link, methods=["GET", "HEAD"]),
        Route("/{app}", _app_root_redirect),
        Route("/{app}/{path:path}", _web_file, methods=["GET", "HEAD"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.config = config
    return app


def local_config() -> GatewayConfig:
    """The upstreams at the ports the services' own settings give them (FIELDLINE_<SERVICE>_PORT honoured)."""
    from shared.migrations import SERVICES, service_settings_class
    from shared.settings import load_settings

    upstreams = {name: f"http://127.0.0.1:{load_settings(service_settings_class(name)).port}" for name in SERVICES}
    return GatewayConfig(upstreams=upstreams, web_root=REPO_ROOT / "web")


def gateway_port(environ: Mapping[str, str] | None = None) -> int:
    env: Mapping[str, Any] = os.environ if environ is None else environ
    return int(env.get("FIELDLINE_GATEWAY_PORT", DEFAULT_PORT))


def local_app() -> Starlette:
    """The gateway `make run` starts: with the development sign-in only while the development keys are in use."""
    from deploy.local.dev_signin import auth_routes, dev_mode
    from shared.settings import ServiceSettings, load_settings

    settings = load_settings(ServiceSettings)
    routes = auth_routes(settings, REPO_ROOT / ".run" / "demo.json")
    if dev_mode(settings):
        from deploy.local.mail_catcher import mail_routes

        routes += mail_routes()  # the local mail catcher's inbox; production sends real e-mail
    return create_app(local_config(), extra_routes=routes)


def main() -> None:
    import uvicorn

    uvicorn.run(local_app(), host="127.0.0.1", port=gateway_port(), log_level="warning")


if __name__ == "__main__":
    main()
