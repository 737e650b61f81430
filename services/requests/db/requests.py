"""The request aggregate: the service request and what this service knows of each of its assignments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t
from services.requests.domain.lifecycle import AssignmentView
from services.requests.domain.records import ServiceRequestRecord
from shared.db import record


class RequestsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_if_new(self, request: ServiceRequestRecord) -> bool:
        """Insert unless (customer, idempotency key) exists; True when this call created it.

        Any conflict means "already filed": a filed request's id follows from (customer, idempotency key), so a
        concurrent duplicate may meet the first on the primary key before the (customer, key) index.
        """
        result = await self.session.execute(
            pg_insert(t.service_requests)
            .values(**request.values())
            .on_conflict_do_nothing()
            .returning(t.service_requests.c.id)
        )
        return result.first() is not None

    async def by_idempotency_key(self, customer_id: uuid.UUID, key: str) -> ServiceRequestRecord | None:
        c = t.service_requests.c
        row = (
            await self.session.execute(
                select(t.service_requests).where(c.customer_id == customer_id, c.idempotency_key == key)
            )
        ).first()
        return record(ServiceRequestRecord, row) if row else None

    async def get(self, request_id: uuid.UUID, *, for_update: bool = False) -> ServiceRequestRecord | None:
        query = select(t.service_requests).where(t.service_requests.c.id == request_id)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return record(ServiceRequestRecord, row) if row else None

    async def follow_up_of(self, request_id: uuid.UUID) -> uuid.UUID | None:
        """The follow-up request opened for `request_id`, if any."""
        return await self.session.scalar(
            select(t.service_requests.c.id).where(t.service_requests.c.follow_up_of == request_id)
        )

    async def search(
        self,
        *,
        customer_id: uuid.UUID | None = None,
        site_id: uuid.UUID | None = None,
        equipment_id: uuid.UUID | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[ServiceRequestRecord]:
        c = t.service_requests.c
        query = select(t.service_requests).order_by(c.created_at.desc(), c.id).limit(limit)
        for column, value in (
            (c.customer_id, customer_id),
            (c.site_id, site_id),
            (c.equipment_id, equipment_id),
            (c.status, status),
        ):
            if value is not None:
                query = query.where(column == value)
        return [record(ServiceRequestRecord, r) for r in await self.session.execute(query)]

    async def update(self, request_id: uuid.UUID, *, updated_at: datetime, **values: object) -> None:
        await self.session.execute(
            update(t.service_requests)
            .where(t.service_requests.c.id == request_id)
            .values(**values, version=t.service_requests.c.version + 1, updated_at=updated_at)
        )

    # --- its assignments ---------------------------------------------------------------------------

    async def assignments(self, request_id: uuid.UUID) -> list[AssignmentView]:
        rows = await self.session.execute(
            select(t.request_assignments).where(t.request_assignments.c.request_id == request_id)
        )
        return [_assignment_view(r._mapping) for r in rows]

    async def save_assignment(self, request_id: uuid.UUID, view: AssignmentView) -> None:
        values = {
            "request_id": request_id,
            "technician_id": view.technician_id,
            "technician_first_name": view.technician_first_name,
            "technician_as_of": view.technician_as_of,
            "booked_at": view.booked_at,
            "promised_eta": view.promised_eta,
            "eta": view.eta,
            "eta_as_of": view.eta_as_of,
            "reached": {status: at.isoformat() for status, at in view.reached},
            "outcome": view.outcome,
        }
        statement = pg_insert(t.request_assignments).values(assignment_id=view.assignment_id, **values)
        await self.session.execute(statement.on_conflict_do_update(index_elements=["assignment_id"], set_=values))


def _assignment_view(row: Any) -> AssignmentView:
    reached = tuple(
        sorted(
            ((status, datetime.fromisoformat(at)) for status, at in row["reached"].items()),
            key=lambda item: (item[1], item[0]),
        )
    )
    return AssignmentView(
        assignment_id=row["assignment_id"],
        technician_id=row["technician_id"],
        booked_at=row["booked_at"],
        technician_first_name=row["technician_first_name"],
        promised_eta=row["promised_eta"],
        eta=row["eta"],
        eta_as_of=row["eta_as_of"],
        reached=reached,
        outcome=row["outcome"],
        technician_as_of=row["technician_as_of"],
    )
