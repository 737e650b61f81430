"""Customers' webhooks and their (encrypted) signing secrets."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.db import tables as t
from services.notify.domain.webhooks import StoredSecrets, Webhook
from shared.db import record, records


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: Mapping[str, Any]) -> Webhook:
        row = (await self.session.execute(insert(t.webhooks).values(**values).returning(t.webhooks))).one()
        return record(Webhook, row)

    async def get(self, webhook_id: uuid.UUID, *, for_update: bool = False) -> Webhook | None:
        query = select(t.webhooks).where(t.webhooks.c.id == webhook_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return record(Webhook, row) if row else None

    async def by_id(self, webhook_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Webhook]:
        if not webhook_ids:
            return {}
        rows = await self.session.execute(select(t.webhooks).where(t.webhooks.c.id.in_(webhook_ids)))
        return {w.id: w for w in records(Webhook, rows)}

    async def of_customer(self, customer_id: uuid.UUID, *, active_only: bool = False) -> list[Webhook]:
        w = t.webhooks
        query = select(w).where(w.c.customer_id == customer_id).order_by(w.c.created_at)
        if active_only:
            query = query.where(w.c.active.is_(True))
        return records(Webhook, await self.session.execute(query))

    async def deactivate(self, webhook_id: uuid.UUID) -> None:
        await self.session.execute(update(t.webhooks).where(t.webhooks.c.id == webhook_id).values(active=False))

    async def rotate_secret(
        self,
        webhook_id: uuid.UUID,
        secret: str,
        previous_secret: str | None,
        previous_secret_expires_at: datetime | None,
        rotated_at: datetime,
    ) -> Webhook:
        """Store the new (encrypted) secret; the old one signs until its expiry, or not at all when None."""
        row = (
            await self.session.execute(
                update(t.webhooks)
                .where(t.webhooks.c.id == webhook_id)
                .values(
                    secret=secret,
                    previous_secret=previous_secret,
                    previous_secret_expires_at=previous_secret_expires_at,
                    secret_rotated_at=rotated_at,
                )
                .returning(t.webhooks)
            )
        ).one()
        return record(Webhook, row)

    async def drop_expired_previous_secrets(self, webhook_ids: Sequence[uuid.UUID], now: datetime) -> None:
        """Forget old secrets whose grace period is over (signing checks the expiry anyway; this is tidying)."""
        if not webhook_ids:
            return
        w = t.webhooks
        await self.session.execute(
            update(w)
            .where(w.c.id.in_(webhook_ids), w.c.previous_secret_expires_at <= now)
            .values(previous_secret=None, previous_secret_expires_at=None)
        )

    async def secrets_after(self, after: uuid.UUID | None, limit: int) -> list[StoredSecrets]:
        """A page of webhooks' stored secrets in id order, locked until commit (for re-encryption)."""
        w = t.webhooks
        query = select(w.c.id, w.c.secret, w.c.previous_secret).order_by(w.c.id).limit(limit).with_for_update()
        if after is not None:
            query = query.where(w.c.id > after)
        return records(StoredSecrets, await self.session.execute(query))

    async def replace_secrets(self, webhook_id: uuid.UUID, values: Mapping[str, str]) -> None:
        await self.session.execute(update(t.webhooks).where(t.webhooks.c.id == webhook_id).values(**values))
