"""Advisory locks: one holder at a time across every replica."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine


@asynccontextmanager
async def session_lock(engine: AsyncEngine, key: str) -> AsyncIterator[bool]:
    """Try to take the lock named `key` on a connection of its own, outside any transaction; yields whether it was
    taken (False: another replica holds it), and gives it back on leaving."""
    async with engine.connect() as connection:
        got = bool((await connection.execute(select(func.pg_try_advisory_lock(func.hashtext(key))))).scalar())
        await connection.commit()
        try:
            yield got
        finally:
            if got:
                await connection.execute(select(func.pg_advisory_unlock(func.hashtext(key))))
                await connection.commit()
