"""Quality KPIs: the repository's per-group tallies (summed in SQL) as figures."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db.kpis import KpiRepository
from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy, KpiRow, kpi_rows
from shared.events.common import RequestKind


async def quality_kpis(
    session: AsyncSession,
    *,
    period_from: datetime,
    period_to: datetime,
    as_of: datetime,
    bucket: Bucket,
    group_by: GroupBy,
    filters: dict[str, uuid.UUID],
    policy: KpiPolicy,
    kind: RequestKind | None = None,
) -> list[KpiRow]:
    tallies = await KpiRepository(session).kpi_tallies(
        kind=kind,
        period_from=period_from,
        period_to=period_to,
        as_of=as_of,
        bucket=bucket,
        group_by=group_by,
        filters=filters,
        policy=policy,
    )
    return kpi_rows(tallies, group_by)
