"""A consumer told to stop (SIGTERM's drain) finishes the message in hand, acks it, and hands the rest of its
batch back to the broker at once, for the next replica: nothing lost, nothing applied twice."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import Envelope, Event
from tests.messaging.harness import MessagingSchema, broker_client, effect_consumer, relay, wait_for
from tests.support.infra import NatsServer


async def test_a_stopped_consumer_finishes_the_message_in_hand_and_hands_back_the_rest(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids = await harness.add_events(4)
        assert (await relay(harness, broker).publish_batch())[0] == 4
        started = asyncio.Event()
        release = asyncio.Event()

        async def slow_effect(session: AsyncSession, envelope: Envelope, event: Event) -> None:
            started.set()
            await release.wait()  # still working when the stop arrives
            await harness.apply_effect(session, envelope, event)

        # ack_wait far beyond the test: a message handed back returns by the nak, not by a timeout
        first = effect_consumer(harness, broker, handler=slow_effect, ack_wait_s=60.0, batch_size=10)
        running = asyncio.create_task(first.run())
        await asyncio.wait_for(started.wait(), timeout=15)
        first.stop()
        release.set()
        await asyncio.wait_for(running, timeout=15)  # run() returns by itself: no cancellation needed

        assert await harness.effect_counts() == (1, 1), "the message in hand was finished, and only it"

        second = effect_consumer(harness, broker, ack_wait_s=60.0)
        task = asyncio.create_task(second.run())
        try:
            # within wait_for's 20 s, far under the 60 s ack_wait: only the hand-back (nak) makes that possible
            await wait_for(broker.consumer_drained, "the next consumer takes the handed-back messages")
        finally:
            second.stop()
            await asyncio.wait_for(task, timeout=15)
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)
