"""Deliveries: the log and the durable retry queue, claimed by every replica."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.delivery import Delivery, DeliveryAttempt
from shared.db import record, records

DELIVERY_CHANNEL = "fieldline_notify_delivery"


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: Mapping[str, Any]) -> bool:
        """Queue one delivery unless this (event, target, channel) already has one; True when queued now."""
        result = await self.session.execute(
            pg_insert(t.deliveries)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["source_event_id", "target", "channel"])
            .returning(t.deliveries.c.id)
        )
        return result.first() is not None

    async def wake_senders(self) -> None:
        await self.session.execute(select(func.pg_notify(DELIVERY_CHANNEL, "")))

    async def claim_due(self, limit: int, lease: timedelta, now: datetime) -> list[Delivery]:
        """Take deliveries due at `now` for one attempt each: the lease hides them from other replicas until it
        expires (a worker that dies mid-send is thus retried by another)."""
        d = t.deliveries
        due = (
            select(d.c.id)
            .where(d.c.status == "queued", d.c.next_attempt_at <= now)
            .order_by(d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            update(d)
            .where(d.c.id.in_(due.scalar_subquery()))
            .values(attempts=d.c.attempts + 1, next_attempt_at=now + lease, updated_at=now)
            .returning(d)
        )
        return records(Delivery, result)

    async def record_outcome(
        self,
        delivery_id: uuid.UUID,
        attempt: int,
        *,
        outcome: str,
        status: str,
        detail: str,
        now: datetime,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        """Write an attempt's outcome unless another worker has taken the delivery since (lease expired)."""
        d = t.deliveries
        values: dict[str, Any] = {
            "status": status,
            "updated_at": now,
            "last_error": None if status == "sent" else detail[:2000],
        }
        if status == "sent":
            values["sent_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        result = await self.session.execute(
            update(d)
            .where(d.c.id == delivery_id, d.c.attempts == attempt, d.c.status == "queued")
            .values(**values)
            .returning(d.c.id)
        )
        if result.first() is None:
            return False
        await self.session.execute(
            insert(t.delivery_attempts).values(
                delivery_id=delivery_id, attempt=attempt, at=now, outcome=outcome, detail=detail[:2000]
            )
        )
        return True

    async def find(
        self,
        *,
        request_id: uuid.UUID | None = None,
        customer_id: uuid.UUID | None = None,
        source_event_id: uuid.UUID | None = None,
        status: str | None = None,
        channel: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        d = t.deliveries
        query = select(d).order_by(d.c.created_at.desc(), d.c.id).limit(limit)
        for column, value in (
            (d.c.request_id, request_id),
            (d.c.customer_id, customer_id),
            (d.c.source_event_id, source_event_id),
            (d.c.status, status),
            (d.c.channel, channel),
        ):
            if value is not None:
                query = query.where(column == value)
        return records(Delivery, await self.session.execute(query))

    async def get(self, delivery_id: uuid.UUID) -> Delivery | None:
        row = (await self.session.execute(select(t.deliveries).where(t.deliveries.c.id == delivery_id))).first()
        return record(Delivery, row) if row else None

    async def attempts_of(self, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
        a = t.delivery_attempts
        return records(
            DeliveryAttempt,
            await self.session.execute(
                select(a.c.attempt, a.c.at, a.c.outcome, a.c.detail)
                .where(a.c.delivery_id == delivery_id)
                .order_by(a.c.attempt, a.c.id)
            ),
        )
