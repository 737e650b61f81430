"""Request body limits enforced at the ASGI edge: before FastAPI parses a body and before any token is checked.

FastAPI reads and parses the whole body before it resolves dependencies (authentication included), so a
limit in a dependency comes too late. This middleware answers 413 problem+json when the declared
Content-Length is over the route's limit, and otherwise counts the body as it streams in (a missing or
lying Content-Length does not help) and answers 413 as soon as the count passes the limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http import PROBLEM_JSON, problem_body

__all__ = ["BodyLimit", "BodySizeLimitMiddleware", "BodyTooLarge"]


@dataclass(frozen=True)
class BodyLimit:
    """Bodies of requests whose path matches ``path_pattern`` (a regex, matched in full) may be ``max_bytes``."""

    path_pattern: str
    max_bytes: int


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a streamed body passes its limit; the middleware turns it into a 413."""


class BodySizeLimitMiddleware:
    """Pure ASGI middleware: the first matching ``BodyLimit`` applies, else ``default_max_bytes``."""

    def __init__(self, app: ASGIApp, *, default_max_bytes: int, limits: Sequence[BodyLimit] = ()) -> None:
        self.app = app
        self.default_max_bytes = default_max_bytes
        self._limits = [(re.compile(limit.path_pattern), limit.max_bytes) for limit in limits]

    def limit_for(self, path: str) -> int:
        for pattern, max_bytes in self._limits:
            if pattern.fullmatch(path):
                return max_bytes
        return self.default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > max_bytes:
            await _send_413(send, scope["path"], max_bytes)
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    exceeded = True
                    raise BodyTooLarge(f"the body passed {max_bytes} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                return  # whatever the app made of the aborted read (a 400, a 500) is replaced by the 413
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await _send_413(send, scope["path"], max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, path: str, max_bytes: int) -> None:
    body = problem_body(
        413,
        "body-too-large",
        "Request body too large",
        f"the body of a request to this route may be at most {max_bytes} bytes",
        instance=path,
        errors=[{"field": "body", "reason": f"at most {max_bytes} bytes"}],
    )
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
