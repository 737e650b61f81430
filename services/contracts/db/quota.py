"""Quota consumptions: the included units each request holds, reserved, confirmed or released."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository
from services.contracts.domain.quota import QuotaConsumption


class QuotaRepository(Repository):
    """What each request filed under a contract counts against its quota."""

    async def quota_used(self, contract_id: uuid.UUID, kind: str, since: datetime, until: datetime | None) -> int:
        """Included units of `kind` the contract's requests in [since, until) hold; billable and released ones
        left out (a request from before reservations, not known to be billable, holds one)."""
        q = t.quota_consumptions
        query = (
            select(func.count())
            .select_from(q)
            .where(
                q.c.contract_id == contract_id,
                q.c.request_kind == kind,
                q.c.released_at.is_(None),
                q.c.within_quota.is_not(False),
                q.c.counted_at >= since,
            )
        )
        if until is not None:
            query = query.where(q.c.counted_at < until)
        return int((await self.session.execute(query)).scalar_one())

    async def quota_consumption(self, request_id: uuid.UUID) -> QuotaConsumption | None:
        row = (
            await self.session.execute(
                select(t.quota_consumptions).where(t.quota_consumptions.c.request_id == request_id)
            )
        ).first()
        return QuotaConsumption(**row._mapping) if row else None

    async def consume_quota(self, consumption: QuotaConsumption) -> bool:
        """Count the request against its contract's quota unless it already is; True if it was not."""
        inserted = await self.session.execute(
            pg_insert(t.quota_consumptions)
            .values(**vars(consumption))
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(t.quota_consumptions.c.request_id)
        )
        return inserted.first() is not None

    async def confirm_quota(self, consumption: QuotaConsumption) -> None:
        """The request is filed: count it unless it already is, and confirm its reservation if it has one."""
        q = t.quota_consumptions
        statement = pg_insert(q).values(**vars(consumption))
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["request_id"],
                set_={"confirmed_at": func.coalesce(q.c.confirmed_at, statement.excluded.confirmed_at)},
            )
        )

    async def drop_unconfirmed_reservations(self, counted_before: datetime) -> int:
        """Reservations whose request was never filed (no created event) free their units; how many."""
        q = t.quota_consumptions
        dropped = await self.session.execute(
            delete(q)
            .where(q.c.confirmed_at.is_(None), q.c.released_at.is_(None), q.c.counted_at < counted_before)
            .returning(q.c.request_id)
        )
        return len(dropped.all())

    async def release_quota(self, request_id: uuid.UUID, at: datetime) -> None:
        q = t.quota_consumptions
        await self.session.execute(
            update(q).where(q.c.request_id == request_id, q.c.released_at.is_(None)).values(released_at=at)
        )
