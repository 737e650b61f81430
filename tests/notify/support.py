"""Test doubles that are real servers: an SMTP server (aiosmtpd), a webhook receiver and the notify app
under uvicorn (SSE needs a real server: httpx's ASGITransport waits for the whole body)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from nats.js import JetStreamContext

from shared.clock import Clock
from shared.events.common import GeoPoint
from shared.events.envelope import Envelope, Event
from shared.events.requests import ServiceRequestCreated
from tests.support.infra import free_port


class Inbox:
    """An aiosmtpd handler keeping every accepted message (the server runs in its own thread)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if m["To"] == address]


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield inbox, port
    finally:
        await asyncio.to_thread(controller.stop)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A webhook endpoint: per path, a script of (status, extra headers) answers; then 200."""

    script: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=lambda: defaultdict(list))
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answers = self.script[scope["path"]]
        status, extra = answers.pop(0) if answers else (200, {})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, body, status))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in extra.items()],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def serve(app: Any, port: int, *, lifespan: str = "off", **tls: Any) -> AsyncIterator[None]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None, timeout_graceful_shutdown=1, **tls
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def webhook_receiver(**tls: Any) -> AsyncIterator[Receiver]:
    receiver = Receiver(port=free_port())
    async with serve(receiver, receiver.port, **tls):
        yield receiver


@asynccontextmanager
async def notify_server(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    async with serve(app, port, lifespan="on"):
        yield f"http://127.0.0.1:{port}"


async def publish(
    js: JetStreamContext, event: Event, *, event_id: uuid.UUID | None = None, occurred_at: datetime | None = None
) -> uuid.UUID:
    """Publish as a producer's outbox relay would (each call a new Nats-Msg-Id, so a repeat is a redelivery)."""
    envelope = Envelope(
        event_id=event_id or uuid.uuid4(),
        type=event.subject,
        data=event.model_dump(mode="json"),
        occurred_at=occurred_at or datetime.now(UTC),
    )
    await js.publish(event.subject, envelope.model_dump_json().encode(), headers={"Nats-Msg-Id": str(uuid.uuid4())})
    return envelope.event_id


class MovableClock(Clock):
    """The service's clock: real time (retries and leases run as they would) plus an offset a test moves forward
    (no sleeping through a grace period)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, by: timedelta) -> None:
        self.offset += by


def at(minutes: float = 0) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes)


def customer_request(
    customer_id: uuid.UUID,
    *,
    kind: str = "routine",
    priority: str = "P3",
    location: tuple[float, float] = (45.04, 35.38),
) -> ServiceRequestCreated:
    """A covered request of ``customer_id``'s at a new site (by default a routine P3 in Feodosia), filed now: what the
    stream, opt-in and webhook suites publish to make notify speak to a customer."""
    return ServiceRequestCreated(
        request_id=uuid.uuid4(),
        customer_id=customer_id,
        site_id=uuid.uuid4(),
        kind=kind,
        priority=priority,
        location=GeoPoint(lat=location[0], lon=location[1]),
        covered=True,
        created_at=at(),
    )
