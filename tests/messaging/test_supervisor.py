"""The consumer's supervisor: a pull subscription that falls silent with messages pending is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
from nats.js import JetStreamContext

from tests.messaging.harness import MessagingSchema, broker_client, effect_consumer, relay, running, wait_for
from tests.support.infra import NatsServer


async def test_a_deaf_pull_subscription_is_replaced_and_the_backlog_consumed(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        event_ids = await harness.add_events(5)
        await relay(harness, broker).publish_batch()
        bound: list[JetStreamContext.PullSubscription] = []
        bind = broker.js.pull_subscribe_bind

        async def first_one_deaf(*args: Any, **kwargs: Any) -> JetStreamContext.PullSubscription:
            psub = await bind(*args, **kwargs)
            if not bound:

                async def hears_nothing(*_: Any, **options: Any) -> list[Any]:
                    await asyncio.sleep(options["timeout"])  # as nats.py #504: the server has messages, none arrive
                    raise nats.errors.TimeoutError

                psub.fetch = hears_nothing  # type: ignore[method-assign]
            bound.append(psub)
            return psub

        broker.js.pull_subscribe_bind = first_one_deaf  # type: ignore[method-assign]
        async with running(effect_consumer(harness, broker, fetch_timeout_s=0.2, idle_check_s=0.6).run()):
            await wait_for(broker.consumer_drained, "the backlog consumed through a new subscription")
        assert len(bound) >= 2
        assert await harness.effects_by_event() == dict.fromkeys(event_ids, 1)
