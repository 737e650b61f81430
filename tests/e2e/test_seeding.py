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


async def test_the_generated_company_seeds_once_with_its_mail_recipients(
    stack: Stack, keys: Keys, database_url: str
) -> None:
    from deploy.local.company.generator import customer_email, generate_company
    from deploy.local.company.seeder import seed_company

    company = generate_company(5, customers=3, sites=8, technicians=3)
    urls = {name: stack.url(name) for name in ("contracts", "requests", "dispatch", "notify")}
    first = seed_company(company, urls, keys.token(Role.ADMIN))
    second = seed_company(company, urls, keys.token(Role.ADMIN))
    assert first.created["recipients"] == 3 + 3 + 2  # customers' desks, technicians, dispatch and contract desks
    assert second.created == {}, "a second run adds nothing"
    assert second.customers == first.customers and second.technicians == first.technicians
    conn = await asyncpg.connect(database_url)
    try:
        desk = await conn.fetchrow(
            "SELECT kind, customer_id, confirmed_at FROM notify.recipients WHERE email = $1",
            customer_email(company.customers[0]),
        )
    finally:
        await conn.close()
    assert desk["kind"] == "customer"
    assert str(desk["customer_id"]) == first.customers[company.customers[0].ref]
    assert desk["confirmed_at"] is not None, "staff-added addresses need no opt-in"
