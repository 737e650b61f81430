"""HTTP API of the quality KPIs, as JSON or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Response

from services.requests.api.deps import Now, ServiceSettings, UnitOfWork
from services.requests.api.schemas import KpiReport, KpiRowOut
from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy, KpiRow
from services.requests.usecases.quality import quality_kpis
from shared.auth import Principal, Role, require_roles
from shared.errors import InvalidInput
from shared.events.common import RequestKind

router = APIRouter(tags=["quality"])

RATIOS = ("response_sla", "fix_sla", "on_time_arrival", "first_time_fix", "repeat_visits")
KpiReader = Annotated[Principal, Depends(require_roles(Role.DISPATCHER, Role.CONTRACT_MANAGER, Role.CUSTOMER))]


@router.get(
    "/kpis",
    response_model=KpiReport,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Quality KPIs by period and per technician, contract, customer, site or unit",
)
async def kpis(
    session: UnitOfWork,
    settings: ServiceSettings,
    now: Now,
    principal: KpiReader,
    period_from: datetime | None = Query(None, alias="from", description="default: 30 days before `to`"),
    period_to: datetime | None = Query(None, alias="to", description="exclusive; default: now"),
    bucket: Bucket = "all",
    group_by: GroupBy = "none",
    customer_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    equipment_id: uuid.UUID | None = None,
    kind: RequestKind | None = Query(None, description="count only requests of this kind (planned: contracts' visits)"),
    format: Literal["json", "csv"] = "json",
) -> Response | KpiReport:
    to = period_to or now
    since = period_from or to - timedelta(days=30)
    if since.tzinfo is None or to.tzinfo is None:
        raise InvalidInput("from" if since.tzinfo is None else "to", "give a time zone (e.g. Z)")
    if since >= to:
        raise InvalidInput("from", "must be before `to`")
    if principal.role is Role.CUSTOMER:
        customer_id = principal.customer_id  # a customer sees its own figures only
    filters = {
        name: value
        for name, value in (
            ("customer_id", customer_id),
            ("contract_id", contract_id),
            ("site_id", site_id),
            ("equipment_id", equipment_id),
        )
        if value
    }
    policy = KpiPolicy(
        on_time_tolerance=timedelta(minutes=settings.on_time_tolerance_minutes),
        repeat_window=timedelta(days=settings.repeat_window_days),
        timezone=ZoneInfo(settings.timezone),
    )
    rows = await quality_kpis(
        session,
        period_from=since,
        period_to=to,
        as_of=now,
        bucket=bucket,
        group_by=group_by,
        filters=filters,
        policy=policy,
        kind=kind,
    )
    if format == "csv":
        return Response(
            kpi_csv(rows), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="kpis.csv"'}
        )
    return KpiReport(
        period_from=since,
        period_to=to,
        as_of=now,
        bucket=bucket,
        group_by=group_by,
        on_time_tolerance_minutes=settings.on_time_tolerance_minutes,
        repeat_window_days=settings.repeat_window_days,
        rows=[KpiRowOut.model_validate(row, from_attributes=True) for row in rows],
    )


LATENCIES = (
    "emergency_response_median_minutes",
    "emergency_response_p90_minutes",
    "eta_late_median_minutes",
    "eta_late_p90_minutes",
)


def kpi_csv(rows: list[KpiRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "period_start",
            "group_by",
            "key",
            "requests",
            *(f"{name}_{part}" for name in RATIOS for part in ("count", "hits", "rate")),
            "mean_response_minutes",
            "csat_count",
            "csat_mean",
            "nps_count",
            "nps",
            *LATENCIES,
        ]
    )
    for row in rows:
        ratios = [getattr(row, name) for name in RATIOS]
        writer.writerow(
            [
                row.period_start.isoformat() if row.period_start else "",
                row.group_by,
                row.key or "",
                row.requests,
                *(value for r in ratios for value in (r.count, r.hits, "" if r.rate is None else r.rate)),
                _blank(row.mean_response_minutes),
                row.csat_count,
                _blank(row.csat_mean),
                row.nps_count,
                _blank(row.nps),
                *(_blank(getattr(row, name)) for name in LATENCIES),
            ]
        )
    return out.getvalue()


def _blank(value: float | None) -> str | float:
    return "" if value is None else value
