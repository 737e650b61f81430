"""Every query of the requests service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t
from services.requests.domain.kpis import JobRecord, Visit
from services.requests.domain.lifecycle import AssignmentView

# NOTIFY channel woken with a request id whenever that request's timeline grows (payload: the id)
TIMELINE_CHANNEL = "requests_timeline"


class RequestsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- service requests --------------------------------------------------------------------------

    async def insert_if_new(self, values: dict[str, Any]) -> bool:
        """Insert unless (customer, idempotency key) exists; True when this call created it."""
        result = await self.session.execute(
            pg_insert(t.service_requests)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["customer_id", "idempotency_key"])
            .returning(t.service_requests.c.id)
        )
        return result.first() is not None

    async def by_idempotency_key(self, customer_id: uuid.UUID, key: str) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(t.service_requests).where(t.service_requests.c.customer_id == customer_id,
                                             t.service_requests.c.idempotency_key == key)
        )).first()
        return dict(row._mapping) if row else None

    async def get(self, request_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return await self._one(select(t.service_requests).where(t.service_requests.c.id == request_id), for_update)

    async def follow_up_of(self, request_id: uuid.UUID) -> uuid.UUID | None:
        """The follow-up request opened for `request_id`, if any."""
        return await self.session.scalar(
            select(t.service_requests.c.id).where(t.service_requests.c.follow_up_of == request_id))

    async def search(self, *, customer_id: uuid.UUID | None = None, site_id: uuid.UUID | None = None,
                     equipment_id: uuid.UUID | None = None, status: str | None = None,
                     limit: int = 100) -> list[dict[str, Any]]:
        c = t.service_requests.c
        query = select(t.service_requests).order_by(c.created_at.desc(), c.id).limit(limit)
        for column, value in ((c.customer_id, customer_id), (c.site_id, site_id), (c.equipment_id, equipment_id),
                              (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def update(self, request_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(t.service_requests)
            .where(t.service_requests.c.id == request_id)
            .values(**values, version=t.service_requests.c.version + 1, updated_at=func.now())
        )

    # --- timeline ----------------------------------------------------------------------------------

    async def add_timeline(self, request_id: uuid.UUID, status: str, at: datetime,
                           source_event_id: uuid.UUID | None = None, detail: dict[str, Any] | None = None) -> None:
        """Append to the timeline (once per source event and status) and wake the request's live streams."""
        await self.session.execute(
            pg_insert(t.request_timeline)
            .values(request_id=request_id, status=status, at=at, source_event_id=source_event_id,
                    detail=detail or {})
            .on_conflict_do_nothing(index_elements=["request_id", "source_event_id", "status"],
                                    index_where=text("source_event_id IS NOT NULL"))
        )
        # delivered at commit, to every replica's listener
        await self.session.execute(select(func.pg_notify(TIMELINE_CHANNEL, str(request_id))))

    async def timeline(self, request_id: uuid.UUID, *, after_id: int = 0) -> list[dict[str, Any]]:
        c = t.request_timeline.c
        query = select(c.id, c.status, c.at, c.detail).where(c.request_id == request_id)
        if after_id:
            # a live stream reads in insertion order from its cursor
            query = query.where(c.id > after_id).order_by(c.id)
        else:
            query = query.order_by(c.at, c.id)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    # --- assignments -------------------------------------------------------------------------------

    async def assignments(self, request_id: uuid.UUID) -> list[AssignmentView]:
        rows = await self.session.execute(
            select(t.request_assignments).where(t.request_assignments.c.request_id == request_id))
        return [_assignment_view(dict(r._mapping)) for r in rows]

    async def save_assignment(self, request_id: uuid.UUID, view: AssignmentView) -> None:
        values = {
            "request_id": request_id, "technician_id": view.technician_id,
            "technician_first_name": view.technician_first_name, "technician_as_of": view.technician_as_of,
            "booked_at": view.booked_at,
            "promised_eta": view.promised_eta, "eta": view.eta, "eta_as_of": view.eta_as_of,
            "reached": {status: at.isoformat() for status, at in view.reached}, "outcome": view.outcome,
        }
        statement = pg_insert(t.request_assignments).values(assignment_id=view.assignment_id, **values)
        await self.session.execute(statement.on_conflict_do_update(index_elements=["assignment_id"], set_=values))

    # --- surveys -----------------------------------------------------------------------------------

    async def add_survey_if_new(self, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            pg_insert(t.surveys).values(**values).on_conflict_do_nothing(index_elements=["request_id"])
            .returning(t.surveys.c.id))
        return result.first() is not None

    async def survey(self, survey_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return await self._one(select(t.surveys).where(t.surveys.c.id == survey_id), for_update)

    async def survey_for_request(self, request_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return await self._one(select(t.surveys).where(t.surveys.c.request_id == request_id), for_update)

    async def answer_survey(self, survey_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(t.surveys).where(t.surveys.c.id == survey_id).values(**values))

    async def rating_answers(self, completed_since: datetime) -> list[tuple[int, int | None]]:
        """(csat, nps) of every answered survey of a job completed since `completed_since`."""
        s = t.surveys.c
        rows = await self.session.execute(
            select(s.csat, s.nps).where(s.answered_at.is_not(None), s.completed_at >= completed_since))
        return [(int(r.csat), None if r.nps is None else int(r.nps)) for r in rows]

    # --- quality -----------------------------------------------------------------------------------

    async def job_records(self, created_from: datetime, created_to: datetime, *,
                          filters: dict[str, uuid.UUID] | None = None) -> list[JobRecord]:
        """Each request filed in [created_from, created_to) with its visits and survey answer, as plain records."""
        r = t.service_requests.c
        query = (
            select(t.service_requests, t.surveys.c.csat, t.surveys.c.nps)
            .outerjoin(t.surveys, t.surveys.c.request_id == r.id)
            .where(r.created_at >= created_from, r.created_at < created_to)
        )
        for name, value in (filters or {}).items():
            query = query.where(getattr(r, name) == value)
        requests = [dict(row._mapping) for row in await self.session.execute(query)]
        visits: dict[uuid.UUID, list[Visit]] = {}
        if requests:
            rows = await self.session.execute(
                select(t.request_assignments)
                .where(t.request_assignments.c.request_id.in_([row["id"] for row in requests])))
            for row in rows:
                view = _assignment_view(dict(row._mapping))
                visits.setdefault(row.request_id, []).append(Visit(
                    technician_id=view.technician_id, booked_at=view.booked_at, promised_eta=view.promised_eta,
                    on_site_at=view.reached_at("on_site"), completed_at=view.reached_at("completed"),
                    failed_at=view.reached_at("failed"), cancelled=view.status == "cancelled"))
        return [
            JobRecord(
                request_id=row["id"], created_at=row["created_at"], customer_id=row["customer_id"],
                site_id=row["site_id"], equipment_id=row["equipment_id"], contract_id=row["contract_id"],
                response_due=row["response_due"], fix_due=row["fix_due"], cancelled_at=row["cancelled_at"],
                follow_up_of=row["follow_up_of"], visits=tuple(visits.get(row["id"], ())),
                csat=row["csat"], nps=row["nps"],
            )
            for row in requests
        ]

    async def _one(self, query: Select[Any], for_update: bool) -> dict[str, Any] | None:
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return dict(row._mapping) if row else None


def _assignment_view(row: dict[str, Any]) -> AssignmentView:
    reached = tuple(sorted(((status, datetime.fromisoformat(at)) for status, at in row["reached"].items()),
                           key=lambda item: (item[1], item[0])))
    return AssignmentView(
        assignment_id=row["assignment_id"], technician_id=row["technician_id"], booked_at=row["booked_at"],
        technician_first_name=row["technician_first_name"], promised_eta=row["promised_eta"], eta=row["eta"],
        eta_as_of=row["eta_as_of"], reached=reached, outcome=row["outcome"], technician_as_of=row["technician_as_of"])
