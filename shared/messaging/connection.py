"""Connecting to NATS and making sure each producer's stream exists."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from shared.events.envelope import stream_name, stream_subjects

log = logging.getLogger(__name__)


async def connect(url: str, name: str) -> Client:
    """A client that keeps reconnecting forever: replicas outlive broker restarts."""

    async def _on_error(exc: Exception) -> None:
        log.warning("nats error: %s", exc)

    async def _on_disconnect() -> None:
        log.warning("nats disconnected")

    async def _on_reconnect() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers=[s.strip() for s in url.split(",")],
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=_on_error,
        disconnected_cb=_on_disconnect,
        reconnected_cb=_on_reconnect,
    )


async def ensure_stream(
    js: JetStreamContext, producer: str, *, replicas: int = 1, duplicate_window_s: float = 600.0
) -> None:
    """Create or update the producer's stream. Several replicas may race here: both outcomes are fine."""
    config = StreamConfig(
        name=stream_name(producer),
        subjects=stream_subjects(producer),
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=duplicate_window_s,
        max_age=14 * 24 * 3600,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
