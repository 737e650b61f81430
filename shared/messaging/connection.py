"""Connecting to NATS and making sure each producer's stream exists."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from shared.events.envelope import stream_name, stream_subjects

log = logging.getLogger(__name__)

# The oldest nats-server we run on. The Jepsen analysis of NATS 2.12.1 found acknowledged writes lost on
# power loss with the default fsync, and streams lost in 2.10.20-2.10.22; 2.12.3 carries the fixes.
MIN_SERVER_VERSION = (2, 12, 3)


class BrokerTooOld(RuntimeError):
    """The NATS server answering is older than MIN_SERVER_VERSION."""


def check_server_version(version: tuple[int, int, int], url: str) -> None:
    """Refuses a server older than MIN_SERVER_VERSION, with what to do about it."""
    if version < MIN_SERVER_VERSION:
        found = ".".join(map(str, version))
        floor = ".".join(map(str, MIN_SERVER_VERSION))
        raise BrokerTooOld(
            f"nats-server {found} at {url} is older than {floor}, the oldest Fieldline runs on "
            "(older servers can lose acknowledged messages); upgrade it, or unset NATS_URL so that "
            "deploy/local/bootstrap.sh runs the locked server from requirements.lock"
        )


async def connect(
    url: str,
    name: str,
    *,
    user: str | None = None,
    password: str | None = None,
    inbox_prefix: str | None = None,
    ca_file: Path | None = None,
) -> Client:
    """A client that keeps reconnecting forever: replicas outlive broker restarts. ``user``/``password`` are the
    service's own NATS user and ``inbox_prefix`` the reply subjects its permissions allow
    (shared/messaging/permissions.py); ``ca_file`` verifies a tls:// broker.

    Raises BrokerTooOld when the server it reaches is older than MIN_SERVER_VERSION.
    """

    async def _on_error(exc: Exception) -> None:
        log.warning("nats error: %s", exc)

    async def _on_disconnect() -> None:
        log.warning("nats disconnected")

    async def _on_reconnect() -> None:
        log.info("nats reconnected")

    options: dict[str, Any] = {}
    if user is not None:
        options |= {"user": user, "password": password or ""}
    if inbox_prefix is not None:
        options["inbox_prefix"] = inbox_prefix
    if ca_file is not None:
        options["tls"] = ssl.create_default_context(cafile=str(ca_file))
    nc = await nats.connect(
        servers=[s.strip() for s in url.split(",")],
        name=name,
        **options,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=_on_error,
        disconnected_cb=_on_disconnect,
        reconnected_cb=_on_reconnect,
    )
    server = nc.connected_server_version
    try:
        check_server_version((server.major, server.minor, server.patch), url)
    except BrokerTooOld:
        await nc.close()
        raise
    return nc


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
