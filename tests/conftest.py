"""Per test package (each directory under tests/): a private nats-server and a migrated PostGIS database.

Package scope keeps suites from hearing each other: a long-lived app of one suite must not sit in another
suite's queue group or replay its streams.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from shared.auth import Role, ensure_local_keypair, mint_token
from tests.support.infra import NatsServer, create_database, drop_database, migrate_all


@pytest.fixture(scope="package")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(store=tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def database_url() -> AsyncIterator[str]:
    url = await create_database()
    await asyncio.to_thread(migrate_all, url)
    yield url
    await drop_database(url)


class Keys:
    def __init__(self, directory: Path) -> None:
        self.private = directory / "jwt-private.pem"
        self.public = directory / "jwt-public.pem"
        ensure_local_keypair(self.private, self.public)

    def token(self, role: Role, sub: str | None = None, *, customer_id: uuid.UUID | None = None,
              technician_id: uuid.UUID | None = None, issuer: str = "fieldline-local",
              audience: str = "fieldline") -> str:
        return mint_token(self.private.read_bytes(), issuer=issuer, audience=audience,
                          subject=sub or f"{role.value}-{uuid.uuid4().hex[:6]}", role=role,
                          customer_id=customer_id, technician_id=technician_id)

    def headers(self, role: Role, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))
