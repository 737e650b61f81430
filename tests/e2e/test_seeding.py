"""`make run`'s demo data is seeded through the public APIs, idempotently against the database: a second run, or
a second checkout on the same database, adds nothing, and the demo emergency still goes to the demo's Anna."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from deploy.local.seed import seed
from shared.auth import Role
from tests.conftest import Keys
from tests.support.infra import Stack

COUNTS = """
    SELECT (SELECT count(*) FROM contracts.customers) AS customers, (SELECT count(*) FROM contracts.sites) AS sites,
           (SELECT count(*) FROM contracts.contracts) AS contracts,
           (SELECT count(*) FROM dispatch.technicians) AS technicians"""


async def test_seeding_twice_adds_nothing_and_names_the_same_demo_objects(
    stack: Stack, keys: Keys, database_url: str, tmp_path: Path
) -> None:
    urls = {name: stack.url(name) for name in ("contracts", "requests", "dispatch", "notify")}
    admin = keys.token(Role.ADMIN)
    first = seed(urls, admin, tmp_path / "first.json")
    conn = await asyncpg.connect(database_url)
    try:
        after_first = dict(await conn.fetchrow(COUNTS))
        # another checkout: its own state file, the same database
        second = seed(urls, admin, tmp_path / "second-checkout.json")
        after_second = dict(await conn.fetchrow(COUNTS))
    finally:
        await conn.close()
    assert after_first["technicians"] >= 4 and after_first["customers"] >= 1
    assert after_second == after_first, "the second run created nothing"
    assert second.customer_id == first.customer_id
    assert second.technician_ids == first.technician_ids  # the demo emergency's "Anna" is the first run's Anna
