"""Passwords for the login roles (shared/db_roles.set_passwords): made once, kept, owner-readable only."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import asyncpg
import pytest

from shared.db_roles import role_password, set_passwords, url_with_password_kept


def _kept(directory: Path, role: str) -> tuple[str, int, list[Path]]:
    """The password file's text and mode, and any half-written file left beside it."""
    path = directory / f"{role}.password"
    return path.read_text(), stat.S_IMODE(path.stat().st_mode), list(directory.glob("*.next"))


@pytest.mark.asyncio(loop_scope="session")
async def test_a_role_gets_a_password_made_once_and_kept(database_url: str, tmp_path: Path) -> None:
    role = f"fieldline_pwtest_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url_with_password_kept(database_url))
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await set_passwords(database_url, [role], tmp_path)
        first, _, _ = _kept(tmp_path, role)
        first_hash = await admin.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
        await set_passwords(database_url, [role], tmp_path)  # a restart of the stack
        again, mode, half_written = _kept(tmp_path, role)
        verified = await admin.fetchval(
            "SELECT rolpassword IS NOT NULL AND rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = $1",
            role,
        )
    finally:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.close()
    assert first == again and len(first) >= 40
    assert first_hash is not None and verified
    assert mode == 0o600 and not half_written


def test_each_role_has_its_own_password(tmp_path: Path) -> None:
    assert role_password(tmp_path, "a") != role_password(tmp_path, "b")
    assert role_password(tmp_path, "a") == role_password(tmp_path, "a")
