"""Fixtures of this suite."""

from tests.support import fixtures

# this package's own database and broker (package scope binds them to this directory)
database_url = fixtures.database_url
nats_server = fixtures.nats_server
