"""Per-service PostgreSQL roles and row-level security (issue 16, shared/db_roles.py) on a migrated database.

The suite's database is migrated by the migrator and each service runs as its own role (tests/support/infra.py),
so these are the rights every other suite's services run with.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import text

from services.contracts.app import create_app
from services.contracts.settings import Settings
from shared.auth import Role
from shared.db_roles import (
    CUSTOMER_SETTING,
    MIGRATOR,
    customer_role,
    ensure_roles,
    runtime_role,
    url_with_password_kept,
    url_with_user,
)
from shared.deps import Transactions, UnitOfWork
from shared.migrations import SERVICES, migrate_services
from tests.conftest import Keys
from tests.support.apps import running_app, service_settings
from tests.support.infra import NatsServer, create_database, drop_database

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def connect_as(database_url: str, role: str) -> asyncpg.Connection:
    return await asyncpg.connect(url_with_password_kept(url_with_user(database_url, role)))


@pytest_asyncio.fixture(loop_scope="session")
async def contracts_role(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect_as(database_url, runtime_role("contracts"))
    yield conn
    await conn.close()


async def test_the_services_run_as_their_own_roles_and_the_migrator_owns_the_schemas(database_url: str) -> None:
    conn = await asyncpg.connect(url_with_password_kept(database_url))
    try:
        owners = dict(
            await conn.fetch(
                "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ANY($1)",
                ["contracts", "requests", "dispatch", "notify"],
            )
        )
        table_owners = {
            row["tableowner"]
            for row in await conn.fetch(
                "SELECT tableowner FROM pg_tables WHERE schemaname = ANY($1)",
                ["contracts", "requests", "dispatch", "notify"],
            )
        }
        attributes = await conn.fetch(
            "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = ANY($1)",
            [r for s in SERVICES for r in (runtime_role(s), customer_role(runtime_role(s)))],
        )
    finally:
        await conn.close()
    assert owners == {s: MIGRATOR for s in ("contracts", "requests", "dispatch", "notify")}
    assert table_owners == {MIGRATOR}
    assert len(attributes) == 8
    assert not any(
        row["rolsuper"] or row["rolbypassrls"] or row["rolcreaterole"] or row["rolcreatedb"] for row in attributes
    )


async def test_a_service_role_reads_and_writes_its_own_schema_only(contracts_role: asyncpg.Connection) -> None:
    async with contracts_role.transaction():
        customer = uuid.uuid4()
        await contracts_role.execute("INSERT INTO contracts.customers (id, name) VALUES ($1, 'Own schema')", customer)
        assert (
            await contracts_role.fetchval("SELECT name FROM contracts.customers WHERE id = $1", customer)
            == "Own schema"
        )
    for foreign in ("requests.service_requests", "dispatch.technicians", "notify.recipients"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await contracts_role.fetchval(f"SELECT count(*) FROM {foreign}")


@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE contracts.sneaky (id int)",
        "ALTER TABLE contracts.customers ADD COLUMN sneaky int",
        "DROP TABLE contracts.rate_limits",
        "ALTER TABLE contracts.customers DISABLE ROW LEVEL SECURITY",
        "TRUNCATE contracts.customers",
    ],
)
async def test_a_service_role_cannot_change_the_schema(contracts_role: asyncpg.Connection, ddl: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await contracts_role.execute(ddl)


async def test_with_a_customer_set_the_database_shows_and_takes_only_that_customers_rows(
    contracts_role: asyncpg.Connection,
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    await contracts_role.executemany(
        "INSERT INTO contracts.customers (id, name) VALUES ($1, $2)", [(mine, "Mine"), (theirs, "Theirs")]
    )
    async with contracts_role.transaction():
        await contracts_role.execute(f"SET LOCAL ROLE {customer_role(runtime_role('contracts'))}")
        await contracts_role.execute("SELECT set_config($1, $2, true)", CUSTOMER_SETTING, str(mine))
        seen = {
            r["id"]
            for r in await contracts_role.fetch("SELECT id FROM contracts.customers WHERE id = ANY($1)", [mine, theirs])
        }
        renamed = await contracts_role.execute("UPDATE contracts.customers SET name = 'Renamed' WHERE id = $1", theirs)
        assert seen == {mine}
        assert renamed == "UPDATE 0"
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with contracts_role.transaction():
                await contracts_role.execute(
                    "INSERT INTO contracts.sites (id, customer_id, name, address, location) "
                    "VALUES ($1, $2, 'x', 'x', 'SRID=4326;POINT(34 45)')",
                    uuid.uuid4(),
                    theirs,
                )
    # the role and the setting end with the transaction: staff, consumers and loops see every row
    seen_after = await contracts_role.fetch("SELECT id FROM contracts.customers WHERE id = ANY($1)", [mine, theirs])
    assert {r["id"] for r in seen_after} == {mine, theirs}


@pytest.mark.parametrize("table", ["requests.request_timeline", "requests.request_assignments"])
async def test_the_rows_of_a_request_follow_the_requests_customer(database_url: str, table: str) -> None:
    """Tables without a customer column are scoped through their request."""
    conn = await connect_as(database_url, runtime_role("requests"))
    try:
        everyone = await conn.fetchval(f"SELECT count(*) FROM {table}")
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {customer_role(runtime_role('requests'))}")
            await conn.execute("SELECT set_config($1, $2, true)", CUSTOMER_SETTING, str(uuid.uuid4()))
            policies = await conn.fetchval(
                "SELECT count(*) FROM pg_policies WHERE schemaname || '.' || tablename = $1", table
            )
            visible = await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
    assert policies == 2  # the service's own (every row) and its customer role's
    assert visible == 0
    assert everyone == await _count_as_admin(database_url, table)


async def _count_as_admin(database_url: str, table: str) -> int:
    conn = await asyncpg.connect(url_with_password_kept(database_url))
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def probed_contracts(database_url: str, nats_server: NatsServer, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    """The contracts app with one extra route that reports what its unit of work is scoped to."""
    settings: Settings = service_settings(Settings, database_url, nats_server.url, keys.private.parent)
    app: FastAPI = create_app(settings)

    query = text("SELECT current_setting(:n, true), current_user, session_user")

    @app.get("/_probe/scope")
    async def scope(session: UnitOfWork) -> dict[str, str | None]:
        value = (await session.execute(query, {"n": CUSTOMER_SETTING})).one()
        return {"customer": value[0] or None, "user": value[1], "login": value[2]}

    @app.get("/_probe/own-transactions")
    async def own_transactions(db: Transactions) -> list[dict[str, str | None]]:
        """As a use case or a stream that opens its transactions itself: two of them, one after the other."""
        seen = []
        for _ in range(2):
            async with db.transaction() as session:
                value = (await session.execute(query, {"n": CUSTOMER_SETTING})).one()
            seen.append({"customer": value[0] or None, "user": value[1], "login": value[2]})
        return seen

    async with running_app(app) as client:
        yield client


async def test_a_customers_request_runs_scoped_to_the_customer_and_staff_requests_are_not(
    probed_contracts: httpx.AsyncClient, keys: Keys
) -> None:
    customer = uuid.uuid4()
    as_customer = await probed_contracts.get("/_probe/scope", headers=keys.headers(Role.CUSTOMER, customer_id=customer))
    as_staff = await probed_contracts.get("/_probe/scope", headers=keys.headers(Role.CONTRACT_MANAGER))
    anonymous = await probed_contracts.get("/_probe/scope")
    forged = await probed_contracts.get("/_probe/scope", headers={"Authorization": "Bearer not-a-token"})
    contracts = runtime_role("contracts")
    assert as_customer.json() == {"customer": str(customer), "user": customer_role(contracts), "login": contracts}
    assert as_staff.json() == {"customer": None, "user": contracts, "login": contracts}
    assert anonymous.json()["customer"] is None
    assert forged.json()["customer"] is None


async def test_the_transactions_a_customers_request_opens_itself_are_scoped_to_the_customer_too(
    probed_contracts: httpx.AsyncClient, keys: Keys
) -> None:
    """Streams and use cases that take `Transactions` (their own transactions, not the request's): each one
    carries the customer, and a staff request's carry none."""
    customer = uuid.uuid4()
    as_customer = await probed_contracts.get(
        "/_probe/own-transactions", headers=keys.headers(Role.CUSTOMER, customer_id=customer)
    )
    as_staff = await probed_contracts.get("/_probe/own-transactions", headers=keys.headers(Role.CONTRACT_MANAGER))
    contracts = runtime_role("contracts")
    scoped = {"customer": str(customer), "user": customer_role(contracts), "login": contracts}
    assert as_customer.json() == [scoped, scoped]
    assert as_staff.json() == [{"customer": None, "user": contracts, "login": contracts}] * 2


async def test_a_customer_reads_its_own_live_stream_only(database_url: str) -> None:
    """notify's stream messages: a customer's transaction sees its own stream, not another customer's, a
    technician's or the dispatchers'."""
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    streams = [f"customer:{mine}", f"customer:{theirs}", f"technician:{uuid.uuid4()}", "dispatchers"]
    conn = await connect_as(database_url, runtime_role("notify"))
    try:
        for stream in streams:
            await conn.execute(
                "INSERT INTO notify.stream_messages (stream, kind, payload, source_event_id) "
                "VALUES ($1, 'x', '{}', $2)",
                stream,
                uuid.uuid4(),
            )
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {customer_role(runtime_role('notify'))}")
            await conn.execute("SELECT set_config($1, $2, true)", CUSTOMER_SETTING, str(mine))
            seen = {r["stream"] for r in await conn.fetch("SELECT stream FROM notify.stream_messages")}
        everyone = {
            r["stream"]
            for r in await conn.fetch("SELECT stream FROM notify.stream_messages WHERE stream = ANY($1)", streams)
        }
    finally:
        await conn.close()
    assert seen == {f"customer:{mine}"}
    assert everyone == set(streams)  # the service's own role (the consumers that write them) sees them all


async def test_an_install_from_before_the_roles_is_handed_to_the_migrator_and_keeps_its_rows() -> None:
    """A database migrated by one user (the single-role install of earlier versions) gets the roles: its
    schemas and tables pass to the migrator, the next migration grants them, and the rows stay."""
    url = await create_database()
    try:
        await asyncio.to_thread(migrate_services, database_url=url)  # as the admin, as before the roles
        admin = await asyncpg.connect(url_with_password_kept(url))
        try:
            customer = uuid.uuid4()
            await admin.execute("INSERT INTO contracts.customers (id, name) VALUES ($1, 'From before')", customer)
            assert (
                await admin.fetchval("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'contracts'")
                != MIGRATOR
            )
            assert await ensure_roles(url, SERVICES)
            await asyncio.to_thread(migrate_services, roles_on=url)
            owners = {
                r[0]
                for r in await admin.fetch(
                    "SELECT tableowner FROM pg_tables WHERE schemaname = ANY($1)", list(SERVICES)
                )
            }
        finally:
            await admin.close()
        assert owners == {MIGRATOR}
        conn = await connect_as(url, runtime_role("contracts"))
        try:
            assert await conn.fetchval("SELECT name FROM contracts.customers WHERE id = $1", customer) == "From before"
        finally:
            await conn.close()
    finally:
        await drop_database(url)


async def test_a_customer_of_dispatch_sees_its_own_jobs_and_bookings_and_no_positions_or_step_history(
    database_url: str,
) -> None:
    """Row-level security behind dispatch's customer routes: whatever a query asks for, the database answers a
    customer's unit of work with its own jobs and bookings only, and no technician's position trail at all."""
    mine, theirs, technician = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await connect_as(database_url, runtime_role("dispatch"))
    try:
        jobs = {}
        for customer in (mine, theirs):
            jobs[customer] = uuid.uuid4()
            await conn.execute(
                "INSERT INTO dispatch.jobs (request_id, customer_id, site_id, kind, priority, location, status, "
                "duration_minutes, created_at) VALUES ($1, $2, $3, 'emergency', 'P1', "
                "'SRID=4326;POINT(34.1 44.95)', 'new', 60, now())",
                jobs[customer],
                customer,
                uuid.uuid4(),
            )
        await conn.execute(
            "INSERT INTO dispatch.position_pings (technician_id, at, position) "
            "VALUES ($1, now(), 'SRID=4326;POINT(34 45)')",
            technician,
        )
        await conn.execute(
            "INSERT INTO dispatch.assignment_history (assignment_id, status, at, detail) "
            "VALUES ($1, 'cancelled', now(), '{\"reason\": \"internal\"}')",
            uuid.uuid4(),
        )
        history = await conn.fetchval("SELECT count(*) FROM dispatch.assignment_history")
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {customer_role(runtime_role('dispatch'))}")
            await conn.execute("SELECT set_config($1, $2, true)", CUSTOMER_SETTING, str(mine))
            seen = {r["request_id"] for r in await conn.fetch("SELECT request_id FROM dispatch.jobs")}
            pings = await conn.fetchval("SELECT count(*) FROM dispatch.position_pings")
            steps = await conn.fetchval("SELECT count(*) FROM dispatch.assignment_history")
        assert seen == {jobs[mine]}
        assert pings == 0 and steps == 0
        everyone = await conn.fetchval(
            "SELECT count(*) FROM dispatch.position_pings WHERE technician_id = $1", technician
        )
        assert everyone == 1 and history >= 1  # the service's own role still sees them all
    finally:
        await conn.close()
