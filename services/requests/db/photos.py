"""Customers' photos of their requests (the rows; the bytes are in the attachment store)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t
from services.requests.domain.records import PhotoRecord
from shared.db import record


class PhotosRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, photo: PhotoRecord) -> bool:
        """False when a concurrent upload of the same id got there first."""
        result = await self.session.execute(
            pg_insert(t.request_photos)
            .values(**photo.values())
            .on_conflict_do_nothing()
            .returning(t.request_photos.c.id)
        )
        return result.first() is not None

    async def get(self, photo_id: uuid.UUID) -> PhotoRecord | None:
        row = (await self.session.execute(select(t.request_photos).where(t.request_photos.c.id == photo_id))).first()
        return record(PhotoRecord, row) if row is not None else None

    async def of_request(self, request_id: uuid.UUID) -> list[PhotoRecord]:
        p = t.request_photos
        rows = await self.session.execute(
            select(p).where(p.c.request_id == request_id).order_by(p.c.created_at, p.c.id)
        )
        return [record(PhotoRecord, r) for r in rows]

    async def count_of(self, request_id: uuid.UUID) -> int:
        p = t.request_photos
        return int(await self.session.scalar(select(func.count()).where(p.c.request_id == request_id)) or 0)
