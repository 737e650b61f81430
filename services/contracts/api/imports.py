"""CSV upload of customers, sites and equipment, with a dry run; and their export in the same columns."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import JSONResponse, PlainTextResponse

from services.contracts.api.deps import Manager, Session
from services.contracts.api.schemas import ImportProblem, ImportReport
from services.contracts.usecases.exporting import export_csv
from services.contracts.usecases.importing import import_csv

router = APIRouter(tags=["import"])

_COLUMNS = (
    "customers: external_ref, name. "
    "sites: external_ref, customer_ref, name, address, lat, lon"
    "[, access_hours like 'mon-fri 08:00-20:00; sat 10:00-14:00', contact_name, contact_phone]. "
    "equipment: site_ref, equipment_type, model, serial"
    "[, installed_on, warranty_ends_on, skills like 'refrigeration:2;electrical', "
    "criticality: critical | high | normal (the default) | low]."
)


@router.post(
    "/imports/{kind}",
    response_model=ImportReport,
    responses={422: {"model": ImportReport, "description": "bad rows; nothing was imported"}},
    summary="Import a CSV file (UTF-8, header row); all rows or none",
    description=_COLUMNS,
)
async def import_file(
    kind: Literal["customers", "sites", "equipment"],
    session: Session,
    _: Manager,
    file: UploadFile = File(...),
    dry_run: bool = Query(False, description="check every row, store nothing"),
) -> JSONResponse:
    outcome = await import_csv(session, kind, file.file, dry_run=dry_run)
    report = ImportReport(
        kind=kind,
        dry_run=dry_run,
        rows=outcome.rows,
        imported=outcome.imported,
        errors=[ImportProblem(line=p.line, field=p.field, reason=p.reason) for p in outcome.errors],
    )
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if report.errors else status.HTTP_200_OK
    return JSONResponse(report.model_dump(mode="json"), status_code=code)


@router.get(
    "/exports/{kind}",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Every customer, site or unit as CSV, in the columns the import reads (an export imports back)",
)
async def export_file(
    kind: Literal["customers", "sites", "equipment"], session: Session, _: Manager
) -> PlainTextResponse:
    # read whole inside the request's transaction (the unit of work closes when the handler returns)
    text = "".join([chunk async for chunk in export_csv(session, kind)])
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )
