"""A relay or consumer in its own process that SIGKILLs itself at a chosen point (run by the fault tests).

python -m tests.messaging.crash relay   <database_url> <schema> <nats_url> <publishes before the kill>
python -m tests.messaging.crash consume <database_url> <schema> <nats_url>   (dies before its first ack)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid

from nats.aio.msg import Msg

from shared.messaging.connection import connect
from tests.messaging.harness import Broker, attach, effect_consumer, relay


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(mode: str, database_url: str, schema: str, nats_url: str, *rest: str) -> None:
    harness = attach(database_url, schema, pool_size=2)
    nc = await connect(nats_url, name=f"crash-{mode}")
    broker = Broker(nc, nc.jetstream())
    if mode == "relay":
        publishes_left = int(rest[0])

        def count_down(_: uuid.UUID) -> None:
            nonlocal publishes_left
            publishes_left -= 1
            if publishes_left == 0:
                _die()

        await relay(harness, broker, after_publish=count_down).publish_batch()
    else:
        consumer = effect_consumer(harness, broker)

        async def die_before_ack(_: Msg) -> None:
            _die()

        consumer.before_ack = die_before_ack
        await consumer.run()
    raise SystemExit("the kill point was never reached")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
