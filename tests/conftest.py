"""Session fixtures shared by every suite: the local JWT keys.

The real infrastructure (a nats-server and a migrated PostGIS database) comes per test package from
tests/support/fixtures.py, which each package's conftest imports.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shared.auth import Role, ensure_local_keypair, mint_token
from shared.clock import FixedClock
from tests.support.clock import suite_clock


class Keys:
    def __init__(self, directory: Path) -> None:
        self.private = directory / "jwt-private.pem"
        self.public = directory / "jwt-public.pem"
        ensure_local_keypair(self.private, self.public)

    def token(
        self,
        role: Role,
        sub: str | None = None,
        *,
        customer_id: uuid.UUID | None = None,
        technician_id: uuid.UUID | None = None,
        issuer: str = "fieldline-local",
        audience: str = "fieldline",
    ) -> str:
        return mint_token(
            self.private.read_bytes(),
            issuer=issuer,
            audience=audience,
            subject=sub or f"{role.value}-{uuid.uuid4().hex[:6]}",
            role=role,
            customer_id=customer_id,
            technician_id=technician_id,
        )

    def headers(self, role: Role, **kwargs: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def clock() -> FixedClock:
    """A fixed clock at the suite's "now" (tests/support/clock.py); tests move it with `advance`/`set`."""
    return suite_clock()
