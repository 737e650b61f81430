"""Dead letters are announced on the service's own stream; a lost stream is declared again by its producer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.events.dead_letters import DEAD_LETTER_EVENTS
from shared.events.envelope import stream_name
from shared.messaging.connection import ensure_stream
from shared.messaging.consumer import StreamMissing
from tests.messaging.harness import PRODUCER, MessagingSchema, broker_client, effect_consumer, relay, running, wait_for
from tests.support.infra import NatsServer


async def test_a_dead_letter_is_announced_through_the_outbox_in_the_same_transaction(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        poison_id = (await harness.add_events(1, reason="poison"))[0]
        await relay(harness, broker).publish_batch()
        consumer = effect_consumer(harness, broker, service_producer="notify")
        async with running(consumer.run()):
            await wait_for(broker.consumer_drained, "the poison message terminated")
        outbox = harness.tables.outbox
        async with harness.db.transaction() as session:
            announced = (
                await session.execute(
                    select(outbox.c.subject, outbox.c.payload).where(outbox.c.subject.like("%dead_letter%"))
                )
            ).all()
    assert [row.subject for row in announced] == [DEAD_LETTER_EVENTS["notify"].subject]
    data = announced[0].payload["data"]
    assert data["event_id"] == str(poison_id)
    assert data["consumer"] == consumer.sub.durable
    assert data["reason"].startswith("rejected:")
    assert len(await harness.dead_letters()) == 1


async def test_the_relay_re_declares_a_stream_the_broker_lost_and_the_consumer_waits_for_it(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        declared: list[str] = []

        async def declare(producer: str) -> None:
            declared.append(producer)
            await ensure_stream(broker.js, producer)

        await broker.js.delete_stream(stream_name(PRODUCER))  # as after a broker that lost its store
        event_ids = await harness.add_events(3)
        consumer = effect_consumer(harness, broker)
        with pytest.raises(StreamMissing):
            await consumer.ensure()  # a consumer never declares another service's stream
        publisher = relay(harness, broker, on_missing_stream=lambda: declare(PRODUCER))
        async with running(consumer.run()), running(publisher.run()):
            await wait_for(lambda: _all_applied(harness, len(event_ids)), "every event applied after re-declaring")
        assert declared and set(declared) == {PRODUCER}
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)


async def _all_applied(harness: MessagingSchema, count: int) -> bool:
    return (await harness.effect_counts())[1] == count
