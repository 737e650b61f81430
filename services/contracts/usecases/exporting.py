"""CSV export of customers, sites and equipment in the import's own columns, so an export imports back."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.exports import ExportsRepository
from services.contracts.domain.records import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, format_skills, format_weekly_hours

_LINES_PER_CHUNK = 500


def export_columns(kind: str) -> tuple[str, ...]:
    return REQUIRED_COLUMNS[kind] + OPTIONAL_COLUMNS[kind]


def _cells(kind: str, row: dict[str, Any]) -> list[Any]:
    if kind == "sites":
        row = {**row, "access_hours": format_weekly_hours(row["access_hours"])}
    if kind == "equipment":
        row = {**row, "skills": format_skills(row["required_skills"])}
    return ["" if row.get(column) is None else row[column] for column in export_columns(kind)]


async def export_csv(session: AsyncSession, kind: str) -> AsyncIterator[str]:
    """The CSV text in chunks: a header row, then every row in a stable order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(export_columns(kind))
    lines = 0
    async for row in ExportsRepository(session).rows(kind):
        writer.writerow(_cells(kind, row))
        lines += 1
        if lines % _LINES_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
