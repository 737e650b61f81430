"""The idempotent consumer when it dies after its commit but before its ack: redelivered, applied once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections import defaultdict

from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import Envelope, Event
from tests.messaging.harness import Broker, MessagingSchema, broker_client, effect_consumer, relay, running, wait_for
from tests.support.infra import REPO_ROOT, NatsServer


class ConsumerCrashed(Exception):
    pass


def _event_id(msg: Msg) -> uuid.UUID:
    return uuid.UUID(json.loads(msg.data)["event_id"])


async def _publish_all(harness: MessagingSchema, broker: Broker, count: int) -> list[uuid.UUID]:
    event_ids = await harness.add_events(count)
    assert (await relay(harness, broker).publish_batch())[0] == count
    return event_ids


async def test_a_crash_between_commit_and_ack_is_redelivered_and_applied_once(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids = await _publish_all(harness, broker, 3)
        acks: dict[uuid.UUID, list[int]] = defaultdict(list)

        async def crash_at_each_messages_first_ack(msg: Msg) -> None:
            assert msg.metadata is not None
            acks[_event_id(msg)].append(msg.metadata.num_delivered)
            if len(acks[_event_id(msg)]) == 1:
                raise ConsumerCrashed("committed, never acked")

        consumer = effect_consumer(harness, broker, ack_wait_s=1.0)
        consumer.before_ack = crash_at_each_messages_first_ack
        async with running(consumer.run()):

            async def every_message_acked_after_a_crash() -> bool:
                return len(acks) == 3 and all(len(d) == 2 for d in acks.values()) and await broker.consumer_drained()

            await wait_for(every_message_acked_after_a_crash, "each message redelivered after its crash, then acked")
        assert all(second > first for first, second in acks.values()), "the second attempt was a redelivery"
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)


async def test_a_consumer_cancelled_before_its_ack_leaves_the_message_to_a_new_one(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        [event_id] = await _publish_all(harness, broker, 1)

        async def die(_: Msg) -> None:
            raise asyncio.CancelledError  # the task ends here, as a process shut down mid-message would

        first = effect_consumer(harness, broker, ack_wait_s=1.0)
        first.before_ack = die
        dying = asyncio.create_task(first.run())
        await wait_for(lambda: _done(dying), "the first consumer died before its ack")
        assert await harness.effects_by_event() == {event_id: 1}
        assert (await broker.consumer_info()).num_ack_pending == 1

        async with running(effect_consumer(harness, broker, ack_wait_s=1.0).run()):
            await wait_for(broker.consumer_drained, "the redelivery acked by the new consumer")
        delivered = (await broker.consumer_info()).delivered
        assert delivered is not None
        assert (delivered.stream_seq, delivered.consumer_seq) == (1, 2), "one message, delivered twice"
        assert await harness.effects_by_event() == {event_id: 1}


async def test_a_consumer_process_killed_before_its_ack_is_replaced_without_a_second_effect(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids = await _publish_all(harness, broker, 5)
        crashing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.messaging.crash",
            "consume",
            harness.database_url,
            harness.schema,
            private_nats.url,
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(crashing.communicate(), timeout=60)
        assert crashing.returncode == -9, stderr.decode()
        applied_before_the_kill = await harness.effects_by_event()
        assert list(applied_before_the_kill.values()) == [1], "the first message committed, then the process died"

        async with running(effect_consumer(harness, broker, ack_wait_s=1.0).run()):
            await wait_for(broker.consumer_drained, "every message acked by the replacement")
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)


async def _done(task: asyncio.Task[None]) -> bool:
    return task.done()


async def test_a_redelivery_to_another_replica_while_the_first_still_works_does_nothing(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        [event_id] = await _publish_all(harness, broker, 1)
        handled: list[uuid.UUID] = []

        async def slower_than_ack_wait(session: AsyncSession, envelope: Envelope, event: Event) -> None:
            handled.append(envelope.event_id)
            await harness.apply_effect(session, envelope, event)
            if len(handled) == 1:
                await asyncio.sleep(2.0)  # ack_wait passes while this transaction is still open

        other_replica = harness.database()
        replicas = [
            effect_consumer(harness, broker, db=db, handler=slower_than_ack_wait, ack_wait_s=1.0)
            for db in (harness.db, other_replica)
        ]
        try:
            async with running(*(r.run() for r in replicas)):

                async def redelivered_and_settled() -> bool:
                    if not await broker.consumer_drained():
                        return False
                    delivered = (await broker.consumer_info()).delivered
                    return delivered is not None and delivered.consumer_seq >= 2

                await wait_for(redelivered_and_settled, "the redelivery settled")
        finally:
            await other_replica.dispose()
        assert handled == [event_id], "the redelivery waited on the first transaction, then skipped the handler"
        assert await harness.effects_by_event() == {event_id: 1}


async def test_a_batch_longer_than_ack_wait_is_not_redelivered_while_it_waits_its_turn(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids = await _publish_all(harness, broker, 8)

        async def slow(session: AsyncSession, envelope: Envelope, event: Event) -> None:
            await harness.apply_effect(session, envelope, event)
            await asyncio.sleep(0.25)  # eight of these take twice the ack_wait

        async with running(effect_consumer(harness, broker, handler=slow, batch_size=8, ack_wait_s=1.0).run()):
            await wait_for(broker.consumer_drained, "the batch handled")
        delivered = (await broker.consumer_info()).delivered
        assert delivered is not None
        assert delivered.consumer_seq == 8, "no message of the batch was delivered twice"
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)
