"""Quality KPIs: the repository's plain records through the pure computation, as rows or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

from services.requests.db.repository import RequestsRepository
from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy, KpiRow, compute_kpis
from shared.db import Database

RATIOS = ("response_sla", "fix_sla", "on_time_arrival", "first_time_fix", "repeat_visits")


async def quality_kpis(db: Database, *, period_from: datetime, period_to: datetime, as_of: datetime,
                       bucket: Bucket, group_by: GroupBy, filters: dict[str, uuid.UUID],
                       policy: KpiPolicy) -> list[KpiRow]:
    async with db.transaction() as session:
        # requests filed up to the repeat window after the period only serve to spot repeat visits
        jobs = await RequestsRepository(session).job_records(period_from, period_to + policy.repeat_window,
                                                             filters=filters)
    return compute_kpis(jobs, period_from=period_from, period_to=period_to, as_of=as_of, bucket=bucket,
                        group_by=group_by, policy=policy)


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
