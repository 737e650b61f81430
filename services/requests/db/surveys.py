"""Surveys: one per completed request, answered once; the public rating reads the answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t
from services.requests.domain.records import SurveyRecord
from shared.db import record


class SurveysRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_new(self, survey: SurveyRecord) -> bool:
        """Open the request's survey unless it has one; True when this call opened it."""
        result = await self.session.execute(
            pg_insert(t.surveys)
            .values(**survey.values())
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(t.surveys.c.id)
        )
        return result.first() is not None

    async def get(self, survey_id: uuid.UUID, *, for_update: bool = False) -> SurveyRecord | None:
        return await self._one(t.surveys.c.id == survey_id, for_update)

    async def of_request(self, request_id: uuid.UUID, *, for_update: bool = False) -> SurveyRecord | None:
        return await self._one(t.surveys.c.request_id == request_id, for_update)

    async def answer(
        self,
        survey_id: uuid.UUID,
        *,
        answered_at: datetime,
        csat: int,
        nps: int | None,
        comment: str,
        answered_via: str,
    ) -> None:
        await self.session.execute(
            update(t.surveys)
            .where(t.surveys.c.id == survey_id)
            .values(answered_at=answered_at, csat=csat, nps=nps, comment=comment, answered_via=answered_via)
        )

    async def rating_answers(self, completed_since: datetime) -> list[tuple[int, int | None]]:
        """(csat, nps) of every answered survey of a job completed since `completed_since`."""
        s = t.surveys.c
        rows = await self.session.execute(
            select(s.csat, s.nps).where(s.answered_at.is_not(None), s.completed_at >= completed_since)
        )
        return [(int(r.csat), None if r.nps is None else int(r.nps)) for r in rows]

    async def _one(self, where: ColumnElement[bool], for_update: bool) -> SurveyRecord | None:
        query = select(t.surveys).where(where)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return record(SurveyRecord, row) if row else None
