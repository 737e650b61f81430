"""Fixtures of this suite."""

from tests.support import fixtures

# this package's own broker and database (package scope binds them to this directory)
nats_server = fixtures.nats_server
database_url = fixtures.database_url
