"""Every query of the requests service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t


class RequestsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        query = select(t.service_requests).where(t.service_requests.c.id == request_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def list_for_customer(self, customer_id: uuid.UUID | None, limit: int = 100) -> list[dict[str, Any]]:
        query = select(t.service_requests).order_by(t.service_requests.c.created_at.desc()).limit(limit)
        if customer_id is not None:
            query = query.where(t.service_requests.c.customer_id == customer_id)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def update(self, request_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            update(t.service_requests)
            .where(t.service_requests.c.id == request_id)
            .values(**values, version=t.service_requests.c.version + 1, updated_at=datetime.now().astimezone())
        )

    async def add_timeline(self, request_id: uuid.UUID, status: str, at: datetime,
                           source_event_id: uuid.UUID | None = None, detail: dict[str, Any] | None = None) -> None:
        await self.session.execute(insert(t.request_timeline).values(
            request_id=request_id, status=status, at=at, source_event_id=source_event_id, detail=detail or {}))

    async def timeline(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.request_timeline.c.status, t.request_timeline.c.at, t.request_timeline.c.detail)
            .where(t.request_timeline.c.request_id == request_id)
            .order_by(t.request_timeline.c.at, t.request_timeline.c.id)
        )
        return [dict(r._mapping) for r in rows]
