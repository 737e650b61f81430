"""The outbox relay under faults: killed between PubAck and mark, several at once, rows that commit late."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid

import pytest

from shared.messaging import add_event
from tests.messaging.harness import (
    MessagingSchema,
    broker_client,
    cancellation,
    effect_consumer,
    relay,
    running,
    wait_for,
)
from tests.support.clock import suite_now
from tests.support.infra import REPO_ROOT, NatsServer


class RelayKilled(Exception):
    """Stands in for the process dying right after a PubAck, before the row is marked."""


@pytest.mark.parametrize(("duplicate_window_s", "absorbed_by"), [(600.0, "stream"), (0.2, "consumer")])
async def test_relay_killed_after_puback_republishes_and_the_effect_happens_once(
    harness: MessagingSchema, private_nats: NatsServer, duplicate_window_s: float, absorbed_by: str
) -> None:
    async with broker_client(private_nats.url, duplicate_window_s=duplicate_window_s) as broker:
        event_ids = await harness.add_events(20)
        acked: list[uuid.UUID] = []

        def die_after_ten(event_id: uuid.UUID) -> None:
            acked.append(event_id)
            if len(acked) == 10:
                raise RelayKilled

        with pytest.raises(RelayKilled):
            await relay(harness, broker, after_publish=die_after_ten).publish_batch()
        assert acked == event_ids[:10]
        assert await broker.stream_messages() == 10, "the broker has the first ten"
        assert await harness.unpublished() == event_ids, "yet no row is marked published"

        if absorbed_by == "consumer":
            await asyncio.sleep(duplicate_window_s * 2)  # let the dedupe window lapse: duplicates reach the stream
        marked, _ = await relay(harness, broker).publish_batch()
        assert marked == 20
        assert await harness.unpublished() == []
        assert await broker.stream_messages() == (20 if absorbed_by == "stream" else 30)

        consumer = effect_consumer(harness, broker)
        async with running(consumer.run()):
            await wait_for(broker.consumer_drained, "every message handled and acked")
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)


async def test_concurrent_relays_and_consumers_publish_each_row_once_and_apply_each_event_once(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url, duplicate_window_s=0.1) as broker:
        event_ids: list[uuid.UUID] = []
        for _ in range(5):
            event_ids += await harness.add_events(100)
        published_by: list[list[uuid.UUID]] = [[], [], []]
        replicas = [harness.database() for _ in published_by]
        relays = [
            relay(harness, broker, db=db, batch_size=25, after_publish=published.append)
            for db, published in zip(replicas, published_by, strict=True)
        ]
        # and two consumer replicas on the one durable, each with its own engine
        consumers = [effect_consumer(harness, broker, db=db, batch_size=50) for db in replicas[:2]]
        try:
            async with running(*(r.run() for r in relays), *(c.run() for c in consumers)):

                async def all_applied() -> bool:
                    return (await harness.effect_counts())[1] == 500 and await broker.consumer_drained()

                await wait_for(all_applied, "all 500 events applied", timeout_s=60)
        finally:
            for db in replicas:
                await db.dispose()
        assert sorted(e for published in published_by for e in published) == sorted(event_ids), (
            "each row published by exactly one relay"
        )
        assert sum(1 for published in published_by if published) >= 2, "the relays really ran side by side"
        assert await broker.stream_messages() == 500
        assert await harness.effect_counts() == (500, 500)
        assert await harness.unpublished() == []


async def test_a_row_whose_transaction_commits_late_is_still_published(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        consumer = effect_consumer(harness, broker)
        async with running(relay(harness, broker).run(), consumer.run()):
            async with harness.db.transaction() as late:
                late_id = await add_event(late, harness.tables, cancellation("committed late"), occurred_at=suite_now())
                # the late row took its outbox id first; these commit (and go out) while it is still open
                later_ids = await harness.add_events(5)

                async def later_rows_out() -> bool:
                    return (await harness.effect_counts())[1] == 5

                await wait_for(later_rows_out, "the five later rows published and applied")
                ids = await harness.outbox_ids(later_ids)
                assert all(i > 0 for i in ids.values())
            ids = await harness.outbox_ids([late_id, *later_ids])
            assert ids[late_id] < min(ids[e] for e in later_ids), "the late row sorts before rows already published"

            async def late_row_out() -> bool:
                return late_id in await harness.effects_by_event()

            await wait_for(late_row_out, "the late row published and applied")
            await wait_for(broker.consumer_drained, "consumer drained")
        assert await harness.effects_by_event() == dict.fromkeys([late_id, *later_ids], 1)
        assert await harness.unpublished() == []


async def test_a_relay_process_killed_after_puback_leaves_rows_a_new_relay_republishes(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids = await harness.add_events(10)
        crashing = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.messaging.crash",
            "relay",
            harness.database_url,
            harness.schema,
            private_nats.url,
            "4",
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(crashing.communicate(), timeout=60)
        assert crashing.returncode == -signal.SIGKILL, stderr.decode()
        assert await broker.stream_messages() == 4
        assert await harness.unpublished() == event_ids

        # the dead relay's row locks go with its connection (once the server has seen it close: on a loaded machine
        # a moment later): then a new relay claims every row at once
        async def locks_gone() -> bool:
            return await harness.claimable() == 10

        await wait_for(locks_gone, "the killed relay's row locks released")
        marked, _ = await relay(harness, broker).publish_batch()
        assert marked == 10
        async with running(effect_consumer(harness, broker).run()):
            await wait_for(broker.consumer_drained, "every message handled and acked")
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)
