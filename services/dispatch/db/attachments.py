"""Attachments of visit reports: the metadata rows (the bytes are in a BlobStore)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository
from services.dispatch.domain.records import AssignmentRecord, AttachmentRecord
from shared.db import record, records, values_of


class AttachmentRepository(SessionRepository):
    async def add_attachment(self, attachment: AttachmentRecord) -> bool:
        """False when an attachment with this id is already stored (a replayed upload)."""
        result = await self.session.execute(
            pg_insert(t.attachments)
            .values(**values_of(attachment))
            .on_conflict_do_nothing()
            .returning(t.attachments.c.id)
        )
        return result.first() is not None

    async def get_attachment(self, attachment_id: uuid.UUID) -> AttachmentRecord | None:
        row = (await self.session.execute(select(t.attachments).where(t.attachments.c.id == attachment_id))).first()
        return record(AttachmentRecord, row) if row else None

    async def attachments_of_request(self, request_id: uuid.UUID) -> list[AttachmentRecord]:
        a = t.attachments
        rows = await self.session.execute(
            select(a).where(a.c.request_id == request_id).order_by(a.c.created_at, a.c.id)
        )
        return records(AttachmentRecord, rows)

    async def finished_assignments_of_request(self, request_id: uuid.UUID) -> list[AssignmentRecord]:
        """The request's visits that ended (completed or failed), the latest first."""
        a = t.assignments
        rows = await self.session.execute(
            select(a)
            .where(a.c.request_id == request_id, a.c.status.in_(("completed", "failed")))
            .order_by(a.c.finished_at.desc().nulls_last())
        )
        return records(AssignmentRecord, rows)
