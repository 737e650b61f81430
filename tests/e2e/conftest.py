"""Fixtures of this suite."""

from collections.abc import Iterator

import pytest

from tests.conftest import Keys
from tests.support import fixtures
from tests.support.infra import NatsServer, Stack, start_stack

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url


@pytest.fixture(scope="module")
def stack(
    database_url: str, nats_server: NatsServer, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The four services as processes, on the suite's timeline, for the module."""
    running = start_stack(database_url, nats_server.url, keys.private.parent, tmp_path_factory.mktemp("logs"))
    yield running
    running.stop()
