"""CSV upload of customers, sites and equipment, with a dry run."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import JSONResponse

from services.contracts.api.deps import Manager, Session
from services.contracts.api.schemas import ImportProblem, ImportReport
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
