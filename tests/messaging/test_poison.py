"""Poison and failing messages: dead-lettered with the reason, and the messages behind them still flow."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import Envelope, Event
from shared.events.requests import ServiceRequestCancelled
from shared.messaging import backoff_delay
from shared.messaging import consumer as consumer_module
from tests.messaging.harness import (
    SUBJECT,
    MessagingSchema,
    broker_client,
    cancellation,
    effect_consumer,
    relay,
    running,
    wait_for,
)
from tests.support.infra import NatsServer, free_port


def _envelope(event_type: str, data: dict[str, Any]) -> bytes:
    return Envelope(type=event_type, data=data).model_dump_json().encode()


async def test_poison_messages_are_dead_lettered_with_the_reason_and_the_rest_still_flow(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    async with broker_client(private_nats.url) as broker:
        poison_id = (await harness.add_events(1, reason="poison"))[0]
        good_ids = await harness.add_events(3)
        await relay(harness, broker).publish_batch()
        # and three that no outbox would write: not JSON, wrong data, a type nobody knows
        await broker.js.publish(SUBJECT, b"{not json")
        await broker.js.publish(SUBJECT, _envelope(SUBJECT, {"request_id": "not-a-uuid"}))
        await broker.js.publish(SUBJECT, _envelope("fieldline.requests.service_request.exploded.v1", {}))
        good_ids += await harness.add_events(2)
        await relay(harness, broker).publish_batch()

        async with running(effect_consumer(harness, broker, batch_size=1).run()):
            await wait_for(broker.consumer_drained, "every message acked or terminated")
        assert await harness.effects_by_event() == dict.fromkeys(good_ids, 1)
        dead = await harness.dead_letters()
        assert [d["reason"].split(":")[0] for d in dead] == ["rejected", "schema", "schema", "schema"]
        assert dead[0]["event_id"] == str(poison_id)
        poisoned_request = json.loads(dead[0]["payload"])["data"]["request_id"]
        assert dead[0]["reason"] == f"rejected: request {poisoned_request} can never be handled"
        assert dead[0]["headers"]["Nats-Msg-Id"] == str(poison_id)
        assert dead[1]["payload"] == "{not json"
        assert "request_id" in dead[2]["reason"]
        assert "exploded" in dead[3]["reason"]
        assert all(d["subject"] == SUBJECT and d["deliveries"] == 1 for d in dead)


async def test_transient_failures_are_retried_with_backoff_then_dead_lettered_at_max_deliver(
    harness: MessagingSchema, private_nats: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    backoffs: list[int] = []

    def recorded_backoff(num_delivered: int) -> float:
        backoffs.append(num_delivered)
        return backoff_delay(num_delivered)

    monkeypatch.setattr(consumer_module, "backoff_delay", recorded_backoff)
    async with broker_client(private_nats.url) as broker:
        [hopeless, recovers, fine] = await harness.add_events(3)
        attempts: dict[uuid.UUID, int] = {}

        async def flaky(session: AsyncSession, envelope: Envelope, event: Event) -> None:
            assert isinstance(event, ServiceRequestCancelled)
            attempts[envelope.event_id] = attempts.get(envelope.event_id, 0) + 1
            await harness.apply_effect(session, envelope, event)  # rolled back with the failure below
            if envelope.event_id == hopeless or (envelope.event_id == recovers and attempts[recovers] < 3):
                raise ConnectionError("the downstream is down")

        await relay(harness, broker).publish_batch()
        async with running(effect_consumer(harness, broker, handler=flaky, max_deliver=4).run()):

            async def settled() -> bool:
                # drained alone can hold for a moment between deliveries (a nak'ed message waiting out its
                # back-off): wait for every outcome too
                return (
                    len(await harness.effects_by_event()) == 2
                    and len(await harness.dead_letters()) == 1
                    and await broker.consumer_drained()
                )

            await wait_for(settled, "two effects, one dead letter, nothing pending", timeout_s=30)
        assert attempts == {hopeless: 4, recovers: 3, fine: 1}
        assert sorted(backoffs) == [1, 1, 2, 2, 3], "nak'ed with back-off before each retry, not at the last"
        assert await harness.effects_by_event() == {recovers: 1, fine: 1}
        [dead] = await harness.dead_letters()
        assert dead["event_id"] == str(hopeless)
        assert dead["deliveries"] == 4
        assert dead["reason"].startswith("max deliveries (4) reached")
        assert "the downstream is down" in dead["reason"]


async def test_a_database_that_stays_unreachable_past_max_deliver_is_waited_out_not_dead_lettered(
    harness: MessagingSchema, private_nats: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make chaos saw a position event dead-lettered while its PostgreSQL recovered from a restart: six deliveries
    # fail within seconds, but the message was never the problem
    monkeypatch.setattr(consumer_module, "backoff_delay", lambda _delivered: 0.05)
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there: refused
    async with broker_client(private_nats.url) as broker:
        [waits] = await harness.add_events(1)
        attempts: list[int] = []

        async def database_down_for_a_while(session: AsyncSession, envelope: Envelope, event: Event) -> None:
            attempts.append(1)
            if len(attempts) <= 8:
                await asyncpg.connect(closed)  # what the session meets while its server is down
            await harness.apply_effect(session, envelope, event)

        await relay(harness, broker).publish_batch()
        consumer = effect_consumer(harness, broker, handler=database_down_for_a_while, max_deliver=4)
        async with running(consumer.run()):
            await wait_for(lambda: _effects(harness), "the effect, once the database answers", timeout_s=30)
            await wait_for(broker.consumer_drained, "nothing pending")
        assert len(attempts) == 9
        assert await harness.effects_by_event() == {waits: 1}
        assert await harness.dead_letters() == []


async def _effects(harness: MessagingSchema) -> bool:
    return bool(await harness.effects_by_event())


async def test_an_envelope_whose_type_is_not_its_subject_is_dead_lettered_not_handled(
    harness: MessagingSchema, private_nats: NatsServer
) -> None:
    # a forger allowed on one subject dresses a message up as another event: the subject is what the broker's
    # permissions vouch for, so the type must name it
    forged_type = "fieldline.requests.service_request.created.v1"
    async with broker_client(private_nats.url) as broker:
        [real] = await harness.add_events(1)
        await relay(harness, broker).publish_batch()
        data = json.loads(cancellation().model_dump_json())
        await broker.js.publish(SUBJECT, _envelope(forged_type, data))
        async with running(effect_consumer(harness, broker, batch_size=1).run()):
            await wait_for(broker.consumer_drained, "every message acked or terminated")
        assert await harness.effects_by_event() == {real: 1}
        [dead] = await harness.dead_letters()
        assert dead["reason"] == f"schema: type {forged_type!r} does not match subject {SUBJECT!r}"
        assert dead["deliveries"] == 1
