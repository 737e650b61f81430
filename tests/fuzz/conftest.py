"""The four services as processes on a database and broker of their own, fuzzed from their OpenAPI documents."""

from collections.abc import Iterator

import pytest

from tests.conftest import Keys
from tests.support import fixtures
from tests.support.infra import NatsServer, Stack, start_stack

nats_server = fixtures.nats_server
database_url = fixtures.database_url


@pytest.fixture(scope="package")
def stack(
    database_url: str, nats_server: NatsServer, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    running = start_stack(database_url, nats_server.url, keys.private.parent, tmp_path_factory.mktemp("logs"))
    yield running
    running.stop()
