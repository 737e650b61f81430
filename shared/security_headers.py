"""Security headers on every response, and a strict content policy on HTML pages (issue 16).

HTML here is server-rendered with no scripts (survey pages, the rating snippet): the policy allows nothing but
the page itself, inline styles and posting forms back. Pages that carry a secret in their URL (survey links)
are never stored by a cache and never sent as a Referer. Swagger UI and ReDoc (inline scripts) keep their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HTML_POLICY", "SecurityHeadersMiddleware"]

HTML_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_FRAMEABLE_POLICY = HTML_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
_DOCS = re.compile(r"/(docs|redoc)(/.*)?")


class SecurityHeadersMiddleware:
    def __init__(
        self, app: ASGIApp, *, no_store_paths: Sequence[str] = (), frameable_paths: Sequence[str] = ()
    ) -> None:
        self.app = app
        self._no_store = [re.compile(p) for p in no_store_paths]
        self._frameable = [re.compile(p) for p in frameable_paths]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        no_store = any(p.fullmatch(path) for p in self._no_store)
        frameable = any(p.fullmatch(path) for p in self._frameable)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers.setdefault("Referrer-Policy", "no-referrer")
                if headers.get("content-type", "").startswith("text/html") and not _DOCS.fullmatch(path):
                    headers["Content-Security-Policy"] = _FRAMEABLE_POLICY if frameable else HTML_POLICY
                    if not frameable:
                        headers["X-Frame-Options"] = "DENY"
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)
