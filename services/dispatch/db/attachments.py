"""Attachments of visit reports: the metadata rows (the bytes are in a BlobStore)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository


class AttachmentRepository(SessionRepository):
    async def add_attachment(self, row: dict[str, Any]) -> bool:
        """False when an attachment with this id is already stored (a replayed upload)."""
        result = await self.session.execute(
            pg_insert(t.attachments).values(**row).on_conflict_do_nothing().returning(t.attachments.c.id)
        )
        return result.first() is not None

    async def get_attachment(self, attachment_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.attachments).where(t.attachments.c.id == attachment_id))).first()
        return dict(row._mapping) if row else None

    async def attachments_of_request(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        a = t.attachments
        rows = await self.session.execute(
            select(a).where(a.c.request_id == request_id).order_by(a.c.created_at, a.c.id)
        )
        return [dict(r._mapping) for r in rows]

    async def finished_assignments_of_request(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        """The request's visits that ended (completed or failed), the latest first."""
        a = t.assignments
        rows = await self.session.execute(
            select(a)
            .where(a.c.request_id == request_id, a.c.status.in_(("completed", "failed")))
            .order_by(a.c.finished_at.desc().nulls_last())
        )
        return [dict(r._mapping) for r in rows]
