"""Mobile commands: each command a technician's app sent, kept by its client id with the answer given, so that
a retried command gets the same answer instead of acting twice."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository
from services.dispatch.domain.records import MobileCommandRecord
from shared.db import record


class MobileCommandRepository(SessionRepository):
    async def get_command(self, client_command_id: uuid.UUID) -> MobileCommandRecord | None:
        row = (
            await self.session.execute(
                select(t.mobile_commands).where(t.mobile_commands.c.client_command_id == client_command_id)
            )
        ).first()
        return record(MobileCommandRecord, row) if row else None

    async def save_command(
        self, client_command_id: uuid.UUID, technician_id: uuid.UUID, kind: str, status_code: int, response: Any
    ) -> bool:
        result = await self.session.execute(
            pg_insert(t.mobile_commands)
            .values(
                client_command_id=client_command_id,
                technician_id=technician_id,
                kind=kind,
                status_code=status_code,
                response=response,
            )
            .on_conflict_do_nothing()
            .returning(t.mobile_commands.c.client_command_id)
        )
        return result.first() is not None
