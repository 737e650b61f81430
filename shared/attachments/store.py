"""The storage seam: put and get bytes by key, inside the caller's unit of work where the store can."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class BlobStore(Protocol):
    """Bytes by key. `session` is the caller's transaction: a database store writes in it, an object store
    ignores it (an object put before a rolled-back transaction is an orphan, never a dangling reference)."""

    name: str  # recorded beside each attachment's metadata: which store holds its bytes

    async def put(self, session: AsyncSession, key: str, content: bytes, content_type: str) -> None: ...

    async def get(self, session: AsyncSession, key: str) -> bytes | None: ...
