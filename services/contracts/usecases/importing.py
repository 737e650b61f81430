"""CSV import of customers, sites and equipment: streamed, checked row by row and as a set, all or nothing.

Rows are read in batches off the event loop, each parsed by the domain's row rules, and the good ones
COPYed into a temporary staging table; set-wide checks (repeats, clashes, unknown references) run in SQL.
Any bad row, or a dry run, rolls the import back to a savepoint taken in the caller's transaction: nothing is
half-imported.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.imports import ImportStaging
from services.contracts.db.rows import skills_to_json
from services.contracts.domain.calendar import hours_to_json
from services.contracts.domain.records import (
    RowProblem,
    header_problem,
    parse_customer,
    parse_equipment,
    parse_site,
)

BATCH_ROWS = 5000


@dataclass(frozen=True)
class ImportProblem:
    line: int
    field: str | None
    reason: str


@dataclass
class ImportOutcome:
    kind: str
    dry_run: bool
    rows: int = 0
    imported: int = 0
    errors: list[ImportProblem] = field(default_factory=list)


class _RollBack(Exception):
    """Leaves the import's savepoint rolled back (a dry run, or bad rows)."""


def _customer(line: int, row: dict[str, str]) -> tuple[Any, ...]:
    record = parse_customer(row)
    return line, record.external_ref, record.name


def _site(line: int, row: dict[str, str]) -> tuple[Any, ...]:
    record = parse_site(row)
    hours = hours_to_json(record.access_hours)
    return (
        line,
        uuid.uuid4(),
        record.external_ref,
        record.customer_ref,
        record.name,
        record.address,
        record.lat,
        record.lon,
        json.dumps(hours) if hours is not None else None,
        record.contact_name,
        record.contact_phone,
    )


def _equipment(line: int, row: dict[str, str]) -> tuple[Any, ...]:
    record = parse_equipment(row)
    return (
        line,
        uuid.uuid4(),
        record.site_ref,
        record.equipment_type,
        record.model,
        record.serial,
        record.installed_on,
        record.warranty_ends_on,
        json.dumps(skills_to_json(record.skills)),
        record.criticality,
    )


_STAGED_ROW: dict[str, Callable[[int, dict[str, str]], tuple[Any, ...]]] = {
    "customers": _customer,
    "sites": _site,
    "equipment": _equipment,
}


def _reader(upload: IO[bytes]) -> csv.DictReader[str]:
    return csv.DictReader(io.TextIOWrapper(upload, encoding="utf-8-sig", newline=""))


def _read_batch(reader: csv.DictReader[str], size: int) -> list[tuple[int, dict[str, str] | None, str | None]]:
    """Up to `size` rows as (line, row, problem with the row's shape)."""
    batch: list[tuple[int, dict[str, str] | None, str | None]] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            width = len(reader.fieldnames or [])
            batch.append((line, None, f"has {len(row[None]) + width} fields; the header has {width}"))
        elif any(v is None for v in row.values()):
            batch.append((line, None, "has fewer fields than the header"))
        else:
            batch.append((line, row, None))
        if len(batch) >= size:
            break
    return batch


async def import_csv(session: AsyncSession, kind: str, upload: IO[bytes], *, dry_run: bool) -> ImportOutcome:
    """Check every row of the file and, unless it is a dry run or any row is bad, store them all."""
    outcome = ImportOutcome(kind=kind, dry_run=dry_run)
    reader = _reader(upload)
    try:
        header = await asyncio.to_thread(lambda: reader.fieldnames)
    except (UnicodeDecodeError, csv.Error) as exc:
        outcome.errors.append(ImportProblem(1, None, f"unreadable file: {exc}"))
        return outcome
    problem = header_problem(kind, [h.strip() for h in header or []]) if header else "the file is empty"
    if problem is not None:
        outcome.errors.append(ImportProblem(1, None, problem))
        return outcome
    reader.fieldnames = [h.strip() for h in header or []]
    to_record = _STAGED_ROW[kind]
    try:
        async with session.begin_nested():
            staging = ImportStaging(session, kind)
            await staging.create()
            while True:
                try:
                    batch = await asyncio.to_thread(_read_batch, reader, BATCH_ROWS)
                except (UnicodeDecodeError, csv.Error) as exc:
                    outcome.errors.append(ImportProblem(reader.line_num, None, f"unreadable: {exc}"))
                    break
                if not batch:
                    break
                records: list[tuple[Any, ...]] = []
                for line, row, shape_problem in batch:
                    outcome.rows += 1
                    if row is None:
                        outcome.errors.append(ImportProblem(line, None, shape_problem or "malformed row"))
                        continue
                    try:
                        records.append(to_record(line, row))
                    except RowProblem as exc:
                        outcome.errors.append(ImportProblem(line, exc.column, exc.reason))
                if records:
                    await staging.copy(records)
            outcome.errors.extend(
                ImportProblem(line, column, reason) for line, column, reason in await staging.problems()
            )
            outcome.errors.sort(key=lambda p: p.line)
            if outcome.errors or dry_run:
                raise _RollBack
            outcome.imported = await staging.move()
    except _RollBack:
        pass
    return outcome
