"""The LISTEN side of live streams and the delivery queue: one connection per replica wakes its waiters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.notify.db.deliveries import DELIVERY_CHANNEL
from services.notify.db.streams import STREAM_CHANNEL
from shared.listen import NotificationHub, listening
from shared.service import Runtime

DELIVERY_WAKE = "@deliveries"  # the hub key that the delivery channel wakes (stream names have no '@')


def stream_hub_for(dsn: str) -> NotificationHub:
    """Stream writers notify the stream's name; the delivery queue wakes its senders."""
    return NotificationHub(dsn, {STREAM_CHANNEL: None, DELIVERY_CHANNEL: lambda _payload: DELIVERY_WAKE})


@asynccontextmanager
async def stream_hub(runtime: Runtime) -> AsyncIterator[None]:
    """Start-up hook: the hub lives in `runtime.extras["hub"]` while the service runs."""
    async with listening(stream_hub_for(runtime.settings.database_url)) as hub:
        runtime.extras["hub"] = hub
        yield
