"""Recipients and their preferences."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.audience import Audience
from services.notify.domain.recipients import Recipient
from shared.db import record, records


class RecipientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def audience_members(
        self, audience: Audience, customer_id: str | None, technician_id: str | None
    ) -> list[Recipient]:
        """Active recipients of an audience; customers' and technicians' only for the event's one."""
        r = t.recipients
        query = (
            select(r)
            .where(r.c.kind == audience.value, r.c.active.is_(True), r.c.confirmed_at.is_not(None))
            .order_by(r.c.created_at)
        )
        if audience is Audience.CUSTOMER:
            if not customer_id:
                return []
            query = query.where(r.c.customer_id == uuid.UUID(customer_id))
        elif audience is Audience.TECHNICIAN:
            if not technician_id:
                return []
            query = query.where(r.c.technician_id == uuid.UUID(technician_id))
        return records(Recipient, await self.session.execute(query))

    async def add(self, values: Mapping[str, Any]) -> Recipient:
        row = (await self.session.execute(insert(t.recipients).values(**values).returning(t.recipients))).one()
        return record(Recipient, row)

    async def count_of_customer(self, customer_id: uuid.UUID) -> int:
        r = t.recipients
        query = select(func.count()).select_from(r).where(r.c.kind == "customer", r.c.customer_id == customer_id)
        return int((await self.session.execute(query)).scalar_one())

    async def confirm(self, confirmation_token_hash: str, now: datetime) -> Recipient | None:
        """Confirm the pending address with this token, once: the token is gone afterwards."""
        r = t.recipients
        row = (
            await self.session.execute(
                update(r)
                .where(r.c.confirmation_token_hash == confirmation_token_hash, r.c.confirmed_at.is_(None))
                .values(confirmed_at=now, confirmation_token_hash=None, updated_at=func.now())
                .returning(r)
            )
        ).first()
        return record(Recipient, row) if row else None

    async def get(self, recipient_id: uuid.UUID) -> Recipient | None:
        row = (await self.session.execute(select(t.recipients).where(t.recipients.c.id == recipient_id))).first()
        return record(Recipient, row) if row else None

    async def find(
        self,
        *,
        kind: str | None = None,
        customer_id: uuid.UUID | None = None,
        technician_id: uuid.UUID | None = None,
        limit: int = 200,
    ) -> list[Recipient]:
        r = t.recipients
        query = select(r).order_by(r.c.created_at).limit(limit)
        if kind:
            query = query.where(r.c.kind == kind)
        if customer_id:
            query = query.where(r.c.customer_id == customer_id)
        if technician_id:
            query = query.where(r.c.technician_id == technician_id)
        return records(Recipient, await self.session.execute(query))

    async def update(self, recipient_id: uuid.UUID, values: Mapping[str, Any]) -> Recipient | None:
        # the record's own bookkeeping times are the database's; the clock drives what is due when
        row = (
            await self.session.execute(
                update(t.recipients)
                .where(t.recipients.c.id == recipient_id)
                .values(**values, updated_at=func.now())
                .returning(t.recipients)
            )
        ).first()
        return record(Recipient, row) if row else None

    async def remove(self, recipient_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(t.recipients).where(t.recipients.c.id == recipient_id).returning(t.recipients.c.id)
        )
        return result.first() is not None
