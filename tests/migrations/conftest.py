"""Fixtures of this suite."""

from tests.support import fixtures

# this package's own database (package scope binds it to this directory)
database_url = fixtures.database_url
