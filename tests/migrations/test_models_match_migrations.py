"""Each service's migrations build exactly the tables its code declares (messaging tables included)."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.migrations import SERVICES, include_in_comparison
from shared.settings import ServiceSettings


def declared_metadata(service: str) -> MetaData:
    metadata: MetaData = importlib.import_module(f"services.{service}.db.tables").metadata
    return metadata


@pytest.mark.parametrize("service", SERVICES)
async def test_the_migrated_schema_has_no_difference_from_the_declared_tables(database_url: str, service: str) -> None:
    engine = create_async_engine(ServiceSettings(database_url=database_url).asyncpg_url)

    def differences(connection: Connection) -> list[object]:
        connection.execute(text(f'SET search_path TO "{service}", public'))
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table_schema": service,
                "include_schemas": True,
                "include_name": lambda name, type_, parent: type_ != "schema" or name == service,
                "include_object": include_in_comparison,
            },
        )
        return list(compare_metadata(context, declared_metadata(service)))

    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == [], f"{service}: migrations and services/{service}/db/tables.py disagree: {diff}"
