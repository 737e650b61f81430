"""Every query of the notify service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.audience import Audience
from services.notify.domain.routing import StreamPush

STREAM_CHANNEL = "fieldline_notify_stream"
DELIVERY_CHANNEL = "fieldline_notify_delivery"


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in result]


class NotifyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- live streams ---------------------------------------------------------------------------------

    async def push(self, stream: str, kind: str, payload: dict[str, Any], source_event_id: uuid.UUID) -> None:
        await self.push_all([StreamPush(stream, kind, payload)], source_event_id)

    async def push_all(self, pushes: Sequence[StreamPush], source_event_id: uuid.UUID) -> None:
        """Append to live streams once per (stream, event, kind), and wake every replica's listeners.

        Each stream is locked until commit before its rows get ids, so ids commit in order per stream
        (a reader never passes an id whose row commits later); locks are taken in one global order.
        """
        streams = sorted({p.stream for p in pushes})
        for stream in streams:
            await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext("stream:" + stream))))
        woken: set[str] = set()
        for p in pushes:
            result = await self.session.execute(
                pg_insert(t.stream_messages).values(stream=p.stream, kind=p.kind, payload=p.payload,
                                                    source_event_id=source_event_id)
                .on_conflict_do_nothing().returning(t.stream_messages.c.id))
            if result.first() is not None and p.stream not in woken:
                woken.add(p.stream)
                await self.session.execute(select(func.pg_notify(STREAM_CHANNEL, p.stream)))

    async def read_after(self, streams: list[str], after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.stream_messages.c.id, t.stream_messages.c.kind, t.stream_messages.c.payload)
            .where(t.stream_messages.c.stream.in_(streams), t.stream_messages.c.id > after_id)
            .order_by(t.stream_messages.c.id).limit(limit))
        return _rows(rows)

    # --- what notify remembers about requests ------------------------------------------------------------

    async def tracked_request(self, request_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(t.tracked_requests).where(t.tracked_requests.c.request_id == request_id).with_for_update()
        )).first()
        return dict(row._mapping) if row else None

    async def track_request(self, request_id: uuid.UUID, customer_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(
            pg_insert(t.tracked_requests).values(request_id=request_id, customer_id=customer_id, **values)
            .on_conflict_do_update(index_elements=["request_id"], set_={**values, "updated_at": func.now()}))

    # --- recipients and webhooks ---------------------------------------------------------------------------

    async def audience_members(self, audience: Audience, customer_id: str | None,
                               technician_id: str | None) -> list[dict[str, Any]]:
        """Active recipients of an audience; customers' and technicians' only for the event's one."""
        r = t.recipients
        query = select(r).where(r.c.kind == audience.value, r.c.active.is_(True)).order_by(r.c.created_at)
        if audience is Audience.CUSTOMER:
            if not customer_id:
                return []
            query = query.where(r.c.customer_id == uuid.UUID(customer_id))
        elif audience is Audience.TECHNICIAN:
            if not technician_id:
                return []
            query = query.where(r.c.technician_id == uuid.UUID(technician_id))
        return _rows(await self.session.execute(query))

    async def add_recipient(self, values: dict[str, Any]) -> dict[str, Any]:
        row = (await self.session.execute(insert(t.recipients).values(**values).returning(t.recipients))).one()
        return dict(row._mapping)

    async def recipient(self, recipient_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.recipients).where(t.recipients.c.id == recipient_id))).first()
        return dict(row._mapping) if row else None

    async def list_recipients(self, *, kind: str | None = None, customer_id: uuid.UUID | None = None,
                              technician_id: uuid.UUID | None = None, limit: int = 200) -> list[dict[str, Any]]:
        r = t.recipients
        query = select(r).order_by(r.c.created_at).limit(limit)
        if kind:
            query = query.where(r.c.kind == kind)
        if customer_id:
            query = query.where(r.c.customer_id == customer_id)
        if technician_id:
            query = query.where(r.c.technician_id == technician_id)
        return _rows(await self.session.execute(query))

    async def update_recipient(self, recipient_id: uuid.UUID, values: dict[str, Any]) -> dict[str, Any] | None:
        row = (await self.session.execute(
            update(t.recipients).where(t.recipients.c.id == recipient_id)
            .values(**values, updated_at=func.now()).returning(t.recipients))).first()
        return dict(row._mapping) if row else None

    async def remove_recipient(self, recipient_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(t.recipients).where(t.recipients.c.id == recipient_id).returning(t.recipients.c.id))
        return result.first() is not None

    async def add_webhook(self, values: dict[str, Any]) -> dict[str, Any]:
        row = (await self.session.execute(insert(t.webhooks).values(**values).returning(t.webhooks))).one()
        return dict(row._mapping)

    async def webhook(self, webhook_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(t.webhooks).where(t.webhooks.c.id == webhook_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def rotate_webhook_secret(self, webhook_id: uuid.UUID, secret: str, previous_secret: str | None,
                                    previous_secret_expires_at: datetime | None,
                                    rotated_at: datetime) -> dict[str, Any]:
        """Store the new (encrypted) secret; the old one signs until its expiry, or not at all when None."""
        row = (await self.session.execute(
            update(t.webhooks).where(t.webhooks.c.id == webhook_id)
            .values(secret=secret, previous_secret=previous_secret,
                    previous_secret_expires_at=previous_secret_expires_at, secret_rotated_at=rotated_at)
            .returning(t.webhooks))).one()
        return dict(row._mapping)

    async def drop_expired_previous_secrets(self, webhook_ids: Sequence[uuid.UUID], now: datetime) -> None:
        """Forget old secrets whose grace period is over (signing checks the expiry anyway; this is tidying)."""
        if not webhook_ids:
            return
        w = t.webhooks
        await self.session.execute(
            update(w).where(w.c.id.in_(webhook_ids), w.c.previous_secret_expires_at <= now)
            .values(previous_secret=None, previous_secret_expires_at=None))

    async def webhook_secrets_after(self, after: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
        """A page of webhooks' stored secrets in id order, locked until commit (for re-encryption)."""
        w = t.webhooks
        query = select(w.c.id, w.c.secret, w.c.previous_secret).order_by(w.c.id).limit(limit).with_for_update()
        if after is not None:
            query = query.where(w.c.id > after)
        return _rows(await self.session.execute(query))

    async def replace_webhook_secrets(self, webhook_id: uuid.UUID, values: dict[str, str]) -> None:
        await self.session.execute(update(t.webhooks).where(t.webhooks.c.id == webhook_id).values(**values))

    async def webhooks_by_id(self, webhook_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        if not webhook_ids:
            return {}
        rows = await self.session.execute(select(t.webhooks).where(t.webhooks.c.id.in_(webhook_ids)))
        return {row["id"]: row for row in _rows(rows)}

    async def webhooks_of(self, customer_id: uuid.UUID, *, active_only: bool = False) -> list[dict[str, Any]]:
        w = t.webhooks
        query = select(w).where(w.c.customer_id == customer_id).order_by(w.c.created_at)
        if active_only:
            query = query.where(w.c.active.is_(True))
        return _rows(await self.session.execute(query))

    async def deactivate_webhook(self, webhook_id: uuid.UUID) -> None:
        await self.session.execute(update(t.webhooks).where(t.webhooks.c.id == webhook_id).values(active=False))

    # --- deliveries: the log and the durable retry queue ------------------------------------------------------

    async def add_delivery(self, values: dict[str, Any]) -> bool:
        """Queue one delivery unless this (event, target, channel) already has one; True when queued now."""
        result = await self.session.execute(
            pg_insert(t.deliveries).values(**values)
            .on_conflict_do_nothing(index_elements=["source_event_id", "target", "channel"])
            .returning(t.deliveries.c.id))
        return result.first() is not None

    async def wake_senders(self) -> None:
        await self.session.execute(select(func.pg_notify(DELIVERY_CHANNEL, "")))

    async def claim_due(self, limit: int, lease: timedelta, now: datetime) -> list[dict[str, Any]]:
        """Take deliveries due at `now` for one attempt each: the lease hides them from other replicas until it
        expires (a worker that dies mid-send is thus retried by another)."""
        d = t.deliveries
        due = (select(d.c.id).where(d.c.status == "queued", d.c.next_attempt_at <= now)
               .order_by(d.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
        result = await self.session.execute(
            update(d).where(d.c.id.in_(due.scalar_subquery()))
            .values(attempts=d.c.attempts + 1, next_attempt_at=now + lease, updated_at=now)
            .returning(d))
        return _rows(result)

    async def record_outcome(self, delivery_id: uuid.UUID, attempt: int, *, outcome: str, status: str,
                             detail: str, now: datetime, next_attempt_at: datetime | None = None) -> bool:
        """Write an attempt's outcome unless another worker has taken the delivery since (lease expired)."""
        d = t.deliveries
        values: dict[str, Any] = {"status": status, "updated_at": now,
                                  "last_error": None if status == "sent" else detail[:2000]}
        if status == "sent":
            values["sent_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        result = await self.session.execute(
            update(d).where(d.c.id == delivery_id, d.c.attempts == attempt, d.c.status == "queued")
            .values(**values).returning(d.c.id))
        if result.first() is None:
            return False
        await self.session.execute(insert(t.delivery_attempts).values(
            delivery_id=delivery_id, attempt=attempt, at=now, outcome=outcome, detail=detail[:2000]))
        return True

    async def list_deliveries(self, *, request_id: uuid.UUID | None = None, customer_id: uuid.UUID | None = None,
                              source_event_id: uuid.UUID | None = None, status: str | None = None,
                              channel: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        d = t.deliveries
        query = select(d).order_by(d.c.created_at.desc(), d.c.id).limit(limit)
        for column, value in ((d.c.request_id, request_id), (d.c.customer_id, customer_id),
                              (d.c.source_event_id, source_event_id), (d.c.status, status),
                              (d.c.channel, channel)):
            if value is not None:
                query = query.where(column == value)
        return _rows(await self.session.execute(query))

    async def delivery(self, delivery_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.deliveries).where(t.deliveries.c.id == delivery_id))).first()
        return dict(row._mapping) if row else None

    async def attempts_of(self, delivery_id: uuid.UUID) -> list[dict[str, Any]]:
        a = t.delivery_attempts
        return _rows(await self.session.execute(
            select(a.c.attempt, a.c.at, a.c.outcome, a.c.detail).where(a.c.delivery_id == delivery_id)
            .order_by(a.c.attempt, a.c.id)))

    # --- notify's own dead letters ------------------------------------------------------------------------------

    async def claim_unreported_dead_letters(self, limit: int = 50) -> list[dict[str, Any]]:
        dl, reports = t.messaging.dead_letters, t.dead_letter_reports
        query = (select(dl.c.id, dl.c.consumer, dl.c.subject, dl.c.event_id, dl.c.reason, dl.c.deliveries,
                        dl.c.created_at)
                 .where(~select(reports.c.dead_letter_id).where(reports.c.dead_letter_id == dl.c.id).exists())
                 .order_by(dl.c.id).limit(limit).with_for_update(of=dl, skip_locked=True))
        return _rows(await self.session.execute(query))

    async def mark_dead_letter_reported(self, dead_letter_id: int) -> None:
        await self.session.execute(
            pg_insert(t.dead_letter_reports).values(dead_letter_id=dead_letter_id).on_conflict_do_nothing())
