"""PostgreSQL roles: a login role per service with rights on its own schema only, and one migrator for DDL.

- `fieldline_migrator` owns the four schemas and runs the migrations (`MIGRATION_DATABASE_URL`);
- `fieldline_<service>` is what the service runs as (`DATABASE_URL` / `FIELDLINE_<SVC>_DATABASE_URL`): it may
  read and write the rows of its own schema and nothing else: no DDL, no other service's tables;
- `fieldline_<service>_customer` (no login; the service's role is a member) is what a customer's unit of work
  switches to: the same rights, but row-level security shows and takes only that customer's rows.

A migration run grants the runtime role its rights when the two URLs name different users
(`shared/migrations.py`), so the grants follow every new table. `ensure_roles` creates the roles in a cluster
where the caller may (bootstrap, the tests' databases); a managed server gets them from its operator
(docs/security.md). Without them everything still runs as one role, as before.

Row-level security on customer-owned tables (`schema_privileges`, each service's `db/customer_rows.py`): a
unit of work opened for a customer (shared/deps.py) takes the customer role and sets `fieldline.customer_id`,
and the database then returns and accepts only that customer's rows, whatever a query forgets to filter.
Staff, consumers and loops keep the service's role, whose policy is `true`: their plans are unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import uuid
from collections.abc import Iterable
from pathlib import Path

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

MIGRATOR = "fieldline_migrator"
CUSTOMER_SETTING = "fieldline.customer_id"


def runtime_role(service: str) -> str:
    return f"fieldline_{service}"


def url_user(url: str) -> str | None:
    return make_url(url).username


def url_with_user(url: str, user: str) -> str:
    """`url` with another user and no password (the role's own password comes from its own secret)."""
    return make_url(url).set(username=user, password=None).render_as_string(hide_password=False)


def service_role_urls(database_url: str, service: str) -> dict[str, str]:
    """The settings for `service` on `database_url`'s database: it runs as its role, migrates as the migrator."""
    return {
        "database_url": url_with_user(database_url, runtime_role(service)),
        "migration_database_url": url_with_user(database_url, MIGRATOR),
    }


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def customer_role(service_role: str) -> str:
    """The role a service's unit of work takes for a customer: no login, the service's role is a member."""
    return f"{service_role}_customer"


def schema_privileges(schema: str, role: str, customer_rows: dict[str, str], *, with_customer_role: bool) -> list[str]:
    """What the service's role (and its customer role) may do after a migration: use the schema, read and
    write its rows and sequences, nothing else; and on the customer-owned tables in `customer_rows` (table ->
    the condition a row of `CURRENT_CUSTOMER` meets), row-level security: the service's role sees every row,
    its customer role only the customer's, for reads and writes alike. Without the customer role (a server
    whose operator made only the login roles), the grants alone."""
    s, r, c = _ident(schema), _ident(role), _ident(customer_role(role))
    statements = []
    for grantee in (r, c) if with_customer_role else (r,):
        statements += [
            f"GRANT USAGE ON SCHEMA {s} TO {grantee}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {grantee}",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {grantee}",
        ]
    for table, condition in customer_rows.items() if with_customer_role else ():
        t = f"{s}.{_ident(table)}"
        for name, grantee, rule in (("service_rows", r, "true"), ("customer_rows", c, condition)):
            policy = _ident(f"{table}_{name}")
            statements += [
                f"DROP POLICY IF EXISTS {policy} ON {t}",
                f"CREATE POLICY {policy} ON {t} TO {grantee} USING ({rule}) WITH CHECK ({rule})",
            ]
        statements.append(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
    return statements


CURRENT_CUSTOMER = f"NULLIF(current_setting('{CUSTOMER_SETTING}', true), '')::uuid"
OWN_ROWS = f"customer_id = {CURRENT_CUSTOMER}"


def rows_of_request(request_table: str = "service_requests") -> str:
    """The condition for a table whose rows belong to a request (`request_id`) rather than to a customer."""
    return f"EXISTS (SELECT 1 FROM {request_table} r WHERE r.id = request_id AND r.{OWN_ROWS})"


# the unit of work of a customer: take the service's customer role (when it exists and this role is a member)
# and name the customer, both until the transaction ends
_SCOPE = text(
    "SELECT set_config(:name, :value, true), "
    "(SELECT set_config('role', r.rolname, true) FROM pg_roles r "
    " WHERE r.rolname = current_user || '_customer' AND pg_has_role(current_user, r.oid, 'MEMBER'))"
)


async def scope_to_customer(session: AsyncSession, customer_id: uuid.UUID | None) -> None:
    """From here to the end of `session`'s transaction, row-level security shows and takes only `customer_id`'s
    rows (a customer without one gets none: the nil id matches nothing)."""
    await session.execute(_SCOPE, {"name": CUSTOMER_SETTING, "value": str(customer_id or uuid.UUID(int=0))})


async def _idempotent(conn: asyncpg.Connection, sql: str) -> None:
    """Run `sql`, tolerating another process having done the same a moment earlier (roles are cluster-wide)."""
    try:
        await conn.execute(sql)
    except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
        pass


async def ensure_roles(admin_url: str, services: Iterable[str]) -> bool:
    """Create the migrator and the services' roles where missing, let them into the database, and hand the
    migrator any service schema an earlier single-role install created. False when `admin_url`'s user may not
    create roles (nothing is changed then, and everything runs as that user)."""
    services = list(services)
    conn = await asyncpg.connect(url_with_password_kept(admin_url))
    try:
        can = await conn.fetchval(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user",
        )
        if not can:
            return False
        database = await conn.fetchval("SELECT current_database()")
        for role in [MIGRATOR, *(runtime_role(s) for s in services)]:
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                await _idempotent(conn, f"CREATE ROLE {_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(database)} TO {_ident(role)}")
        for service in services:
            role, customer = runtime_role(service), customer_role(runtime_role(service))
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", customer):
                await _idempotent(conn, f"CREATE ROLE {_ident(customer)} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
            await _idempotent(conn, f"GRANT {_ident(customer)} TO {_ident(role)}")
        await conn.execute(f"GRANT CREATE ON DATABASE {_ident(database)} TO {_ident(MIGRATOR)}")
        for service in services:
            await _hand_over_schema(conn, service)
        return True
    finally:
        await conn.close()


def url_with_password_kept(url: str) -> str:
    """A libpq URL asyncpg accepts (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _hand_over_schema(conn: asyncpg.Connection, schema: str) -> None:
    """Make the migrator the owner of `schema` and everything in it (installs from before per-service roles)."""
    owner = await conn.fetchval(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1",
        schema,
    )
    if owner is None or owner == MIGRATOR:
        return
    m = _ident(MIGRATOR)
    await conn.execute(f"ALTER SCHEMA {_ident(schema)} OWNER TO {m}")
    # tables, views and free-standing sequences (a column's sequence follows its table); types outside tables
    relations = await conn.fetch(
        """
        SELECT c.relname, c.relkind::text FROM pg_class c
        WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
        """,
        schema,
    )
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    for name, kind in relations:
        await conn.execute(f"ALTER {kinds[kind]} {_ident(schema)}.{_ident(name)} OWNER TO {m}")
    types = await conn.fetch(
        "SELECT typname FROM pg_type WHERE typnamespace = $1::regnamespace AND typtype IN ('e', 'd', 'r')",
        schema,
    )
    for (name,) in types:
        await conn.execute(f"ALTER TYPE {_ident(schema)}.{_ident(name)} OWNER TO {m}")


def login_roles(services: Iterable[str]) -> list[str]:
    return [MIGRATOR, *(runtime_role(s) for s in services)]


def role_password(directory: Path, role: str) -> str:
    """The role's password, kept in `directory/<role>.password` (readable by its owner only): made on the first
    call, the same on every later one (a restart of the stack keeps its passwords)."""
    path = directory / f"{role}.password"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".next"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(32))  # URL-safe: it goes into DATABASE_URL as it is
        os.replace(path.with_suffix(".next"), path)
    return path.read_text().strip()


async def set_passwords(admin_url: str, roles: Iterable[str], directory: Path) -> list[str]:
    """Give each login role its password from `directory` (made there when missing): for a server that checks
    passwords (compose's PostGIS, any managed one), where the roles of `ensure_roles` alone could not log in.
    Returns the roles set."""
    roles = list(roles)
    conn = await asyncpg.connect(url_with_password_kept(admin_url))
    try:
        for role in roles:
            password = role_password(directory, role)
            statement = await conn.fetchval(
                "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", role, password
            )
            await conn.execute(statement)
    finally:
        await conn.close()
    return roles


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.db_roles", description=__doc__.split("\n")[0])
    parser.add_argument("database_url", help="a URL whose user may create roles (a superuser locally)")
    parser.add_argument(
        "--passwords",
        type=Path,
        metavar="DIR",
        help="give the login roles passwords kept in DIR/<role>.password (made there when missing)",
    )
    args = parser.parse_args()
    from shared.migrations import SERVICES

    if not asyncio.run(ensure_roles(args.database_url, SERVICES)):
        print("roles: this user may not create roles; every service runs as it (see docs/security.md)")
        return
    print(f"roles: {MIGRATOR} (DDL) and " + ", ".join(runtime_role(s) for s in SERVICES))
    if args.passwords is not None:
        set_ = asyncio.run(set_passwords(args.database_url, login_roles(SERVICES), args.passwords))
        print(f"passwords: {len(set_)} roles, in {args.passwords}")


if __name__ == "__main__":
    main()
