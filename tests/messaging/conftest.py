"""Each messaging fault test gets its own nats-server (so restarts disturb nobody) and its own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.messaging.harness import MessagingSchema, messaging_schema
from tests.support import fixtures
from tests.support.infra import NatsServer

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    store = tmp_path / "nats"
    store.mkdir()
    server = NatsServer(store=store)
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def harness(database_url: str) -> AsyncIterator[MessagingSchema]:
    async with messaging_schema(database_url) as schema:
        yield schema
