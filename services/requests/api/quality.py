"""HTTP API of the quality KPIs, as JSON or CSV."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from services.requests.api.routes import runtime_db, service_clock, service_settings
from services.requests.api.schemas import KpiReport, KpiRowOut
from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy
from services.requests.quality import kpi_csv, quality_kpis
from shared.auth import Principal, Role, require_roles
from shared.errors import InvalidInput

router = APIRouter(tags=["quality"])


@router.get("/kpis", response_model=KpiReport,
            responses={200: {"content": {"text/csv": {}}}},
            summary="Quality KPIs by period and per technician, contract, customer, site or unit")
async def kpis(
    request: Request,
    period_from: datetime | None = Query(None, alias="from", description="default: 30 days before `to`"),
    period_to: datetime | None = Query(None, alias="to", description="exclusive; default: now"),
    bucket: Bucket = "all",
    group_by: GroupBy = "none",
    customer_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
    site_id: uuid.UUID | None = None,
    equipment_id: uuid.UUID | None = None,
    format: Literal["json", "csv"] = "json",
    principal: Principal = Depends(require_roles(Role.DISPATCHER, Role.CONTRACT_MANAGER, Role.CUSTOMER)),
) -> Response | KpiReport:
    settings = service_settings(request)
    now = service_clock(request).now()
    to = period_to or now
    since = period_from or to - timedelta(days=30)
    if since.tzinfo is None or to.tzinfo is None:
        raise InvalidInput("from" if since.tzinfo is None else "to", "give a time zone (e.g. Z)")
    if since >= to:
        raise InvalidInput("from", "must be before `to`")
    if principal.role is Role.CUSTOMER:
        customer_id = principal.customer_id  # a customer sees its own figures only
    filters = {name: value for name, value in (("customer_id", customer_id), ("contract_id", contract_id),
                                               ("site_id", site_id), ("equipment_id", equipment_id)) if value}
    policy = KpiPolicy(on_time_tolerance=timedelta(minutes=settings.on_time_tolerance_minutes),
                       repeat_window=timedelta(days=settings.repeat_window_days))
    rows = await quality_kpis(runtime_db(request), period_from=since, period_to=to, as_of=now, bucket=bucket,
                              group_by=group_by, filters=filters, policy=policy)
    if format == "csv":
        return Response(kpi_csv(rows), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="kpis.csv"'})
    return KpiReport(period_from=since, period_to=to, as_of=now, bucket=bucket, group_by=group_by,
                     on_time_tolerance_minutes=settings.on_time_tolerance_minutes,
                     repeat_window_days=settings.repeat_window_days,
                     rows=[KpiRowOut.model_validate(row, from_attributes=True) for row in rows])
