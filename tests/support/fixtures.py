"""A private nats-server and a migrated PostGIS database for each test package that imports these.

Import them into a package's conftest.py (`from tests.support.fixtures import database_url, nats_server`):
pytest scopes a package fixture to the package whose conftest defines it, so each suite gets its own
broker and database and no suite hears another's streams, queue groups or rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.support.infra import NatsServer, create_database, declare_streams, drop_database, migrate_all


@pytest.fixture(scope="package")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(store=tmp_path_factory.mktemp("nats"))
    server.start()
    # each service declares only its own stream: the suites' stand-ins for the other producers need theirs
    asyncio.run(declare_streams(server.url))
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def database_url() -> AsyncIterator[str]:
    url = await create_database()
    await asyncio.to_thread(migrate_all, url)
    yield url
    await drop_database(url)
