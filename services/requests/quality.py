"""Quality KPIs: the repository's per-group tallies (summed in SQL) as figures, as rows or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

from services.requests.db.repository import RequestsRepository
from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy, KpiRow, kpi_rows
from shared.db import Database

RATIOS = ("response_sla", "fix_sla", "on_time_arrival", "first_time_fix", "repeat_visits")


async def quality_kpis(db: Database, *, period_from: datetime, period_to: datetime, as_of: datetime,
                       bucket: Bucket, group_by: GroupBy, filters: dict[str, uuid.UUID],
                       policy: KpiPolicy) -> list[KpiRow]:
    async with db.transaction() as session:
        tallies = await RequestsRepository(session).kpi_tallies(
            period_from=period_from, period_to=period_to, as_of=as_of, bucket=bucket, group_by=group_by,
            filters=filters, policy=policy)
    return kpi_rows(tallies, group_by)


def kpi_csv(rows: list[KpiRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period_start", "group_by", "key", "requests",
                     *(f"{name}_{part}" for name in RATIOS for part in ("count", "hits", "rate")),
                     "mean_response_minutes", "csat_count", "csat_mean", "nps_count", "nps"])
    for row in rows:
        ratios = [getattr(row, name) for name in RATIOS]
        writer.writerow([
            row.period_start.isoformat() if row.period_start else "", row.group_by, row.key or "", row.requests,
            *(value for r in ratios for value in (r.count, r.hits, "" if r.rate is None else r.rate)),
            _blank(row.mean_response_minutes), row.csat_count, _blank(row.csat_mean), row.nps_count, _blank(row.nps),
        ])
    return out.getvalue()


def _blank(value: float | None) -> str | float:
    return "" if value is None else value
