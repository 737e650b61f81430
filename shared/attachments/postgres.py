"""The default store: the bytes in a table of the owning service's schema (bytea; TOAST keeps them out of line)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, Table, Text, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession


def blob_table(metadata: MetaData) -> Table:
    """The blobs table in the service's metadata (its schema comes from the metadata)."""
    return Table(
        "attachment_blobs",
        metadata,
        Column("key", Text, primary_key=True),
        Column("content_type", Text, nullable=False),
        Column("content", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class PostgresBlobStore:
    name = "postgres"

    def __init__(self, table: Table) -> None:
        self.table = table

    async def put(self, session: AsyncSession, key: str, content: bytes, content_type: str) -> None:
        # a key is written once: a replayed upload finds its bytes already there
        await session.execute(
            pg_insert(self.table).values(key=key, content=content, content_type=content_type).on_conflict_do_nothing()
        )

    async def get(self, session: AsyncSession, key: str) -> bytes | None:
        content = (await session.execute(select(self.table.c.content).where(self.table.c.key == key))).scalar()
        return bytes(content) if content is not None else None
