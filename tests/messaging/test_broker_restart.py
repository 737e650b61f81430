"""nats-server restarted while a relay publishes and a consumer consumes: nothing lost, nothing applied twice."""

from __future__ import annotations

import asyncio
import signal
import uuid

import pytest

from tests.messaging.harness import MessagingSchema, broker_client, effect_consumer, relay, running, wait_for
from tests.support.infra import NatsServer


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
async def test_broker_restart_mid_stream_loses_nothing_and_applies_nothing_twice(
    harness: MessagingSchema, private_nats: NatsServer, stop_signal: signal.Signals
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids: list[uuid.UUID] = []

        async def file_events(batches: int) -> None:
            for _ in range(batches):
                event_ids.extend(await harness.add_events(10))
                await asyncio.sleep(0.02)

        async def applied(count: int) -> bool:
            return (await harness.effect_counts())[1] >= count

        consumer = effect_consumer(harness, broker, batch_size=50, ack_wait_s=2.0, idle_check_s=1.0)
        async with running(relay(harness, broker, batch_size=20).run(), consumer.run()):
            filing = asyncio.create_task(file_events(15))
            await wait_for(lambda: applied(50), "the stream flowing before the restart")
            await asyncio.to_thread(private_nats.stop, stop_signal)
            await filing
            await file_events(15)  # written while the broker is down: the relay must keep them

            async def publish_failed() -> bool:
                return await harness.publish_failures() > 0

            await wait_for(publish_failed, "the relay noticing the broker is gone")
            await asyncio.to_thread(private_nats.start)

            async def everything_applied() -> bool:
                return await applied(300) and not await harness.unpublished() and await broker.consumer_drained()

            await wait_for(everything_applied, "all 300 events applied after the restart", timeout_s=45)
        assert len(event_ids) == 300
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)
        assert await broker.stream_messages() == 300
