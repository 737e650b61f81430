"""Alembic, one schema per service: each service's migrations/env.py calls `run_env`.

`python -m shared.migrations revision <service> -m "message"` autogenerates a revision against the
database in DATABASE_URL (GeoAlchemy2's helpers keep PostGIS's own tables out of it).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import EXTENSIONS
from shared.db_roles import customer_role, schema_privileges, service_role_urls, url_user
from shared.settings import REPO_ROOT, ServiceSettings, asyncpg_engine_url, load_settings

SERVICES = ("contracts", "requests", "dispatch", "notify")


def service_settings_class(service: str) -> type[ServiceSettings]:
    """The settings class of `services.<service>` (imported on demand: shared/ never imports a service)."""
    settings_cls: type[ServiceSettings] = importlib.import_module(f"services.{service}.settings").Settings
    return settings_cls


def migrate_services(roles_on: str | None = None, **overrides: Any) -> None:
    """Migrate every service's schema, each with its own settings from the environment plus `overrides`.
    `roles_on`: a database URL where the per-service roles exist (shared/db_roles.py): each schema is then
    migrated by the migrator and granted to its service's role."""
    for service in SERVICES:
        own = service_role_urls(roles_on, service) if roles_on else {}
        migrate(load_settings(service_settings_class(service), **(overrides | own)), service)


def alembic_config(settings: ServiceSettings, service: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "services" / service / "migrations"))
    config.attributes["settings"] = settings
    return config


def migrate(settings: ServiceSettings, service: str, revision: str = "head") -> None:
    """Bring the service's schema up to `revision` (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(settings, service), revision)


def include_in_comparison(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """What Alembic compares: all but PostGIS's own tables and what GeoAlchemy2 creates by itself."""
    if type_ == "table" and name == "spatial_ref_sys":
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))  # type: ignore[no-untyped-call]


def run_env(metadata: MetaData, customer_rows: dict[str, str] | None = None) -> None:
    """The body of a service's migrations/env.py (online mode only). `customer_rows`: the service's
    customer-owned tables and the condition a row of the current customer meets (shared/db_roles.py)."""
    settings: ServiceSettings = context.config.attributes["settings"]
    schema = settings.db_schema

    def _run(connection: Connection) -> None:
        for extension in EXTENSIONS:
            connection.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.execute(text(f'SET search_path TO "{schema}", public'))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, parent: type_ != "schema" or name == schema,
            include_object=include_in_comparison,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
        )
        with context.begin_transaction():
            # one migrator at a time per service, even with several replicas starting together
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"migrate:{schema}"})
            context.run_migrations()
            runtime = url_user(settings.database_url)
            if runtime is not None and runtime != url_user(settings.migration_url):
                exists = "SELECT 1 FROM pg_roles WHERE rolname = :r"
                with_customer = connection.execute(text(exists), {"r": customer_role(runtime)}).first() is not None
                for statement in schema_privileges(
                    schema, runtime, customer_rows or {}, with_customer_role=with_customer
                ):
                    connection.execute(text(statement))

    async def _main() -> None:
        url, connect_args = asyncpg_engine_url(settings.migration_url)
        engine = create_async_engine(url, connect_args=connect_args)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(_run)
        finally:
            await engine.dispose()

    asyncio.run(_main())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="autogenerate a revision for one service")
    revision.add_argument("service", choices=SERVICES)
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args()
    settings = load_settings(service_settings_class(args.service))
    config = alembic_config(settings, args.service)
    migrate(settings, args.service)
    command.revision(config, message=args.message, autogenerate=True)
    print("written under", Path(config.get_main_option("script_location") or "") / "versions")


if __name__ == "__main__":
    main()
