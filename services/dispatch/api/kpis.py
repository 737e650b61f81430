"""HTTP API of the technicians' utilisation and travel (usecases/utilisation.py)."""

from __future__ import annotations

import dataclasses
from datetime import date

from fastapi import APIRouter, Query

from services.dispatch.api.deps import Dispatcher, UnitOfWork, UseCases
from services.dispatch.api.desk_schemas import DayOfWorkOut, WorkKpisOut
from services.dispatch.domain.utilisation import DayOfWork

router = APIRouter(tags=["dispatcher"])


@router.get("/kpis", response_model=WorkKpisOut, summary="Utilisation and kilometres driven per technician and day")
async def work_kpis(
    session: UnitOfWork,
    cases: UseCases,
    _: Dispatcher,
    first: date | None = Query(None, alias="from", description="the first local day; default: `to`, or today"),
    last: date | None = Query(None, alias="to", description="the last local day, included; default: `from`"),
) -> WorkKpisOut:
    report = await cases.utilisation.report(session, first, last)

    def out(row: DayOfWork) -> DayOfWorkOut:
        name = report.names.get(str(row.technician_id)) if row.technician_id else None
        return DayOfWorkOut(**dataclasses.asdict(row), utilisation=row.utilisation, technician_name=name)

    return WorkKpisOut(
        first=report.first,
        last=report.last,
        timezone=report.timezone,
        as_of=report.as_of,
        days=[out(r) for r in report.days],
        total=out(report.total),
    )
