"""CSV import: rows are copied into a temporary staging table, checked as a set, then moved over."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_STAGING_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "customers": [("line", "integer"), ("external_ref", "text"), ("name", "text")],
    "sites": [
        ("line", "integer"),
        ("id", "uuid"),
        ("external_ref", "text"),
        ("customer_ref", "text"),
        ("name", "text"),
        ("address", "text"),
        ("lat", "float8"),
        ("lon", "float8"),
        ("access_hours", "jsonb"),
        ("contact_name", "text"),
        ("contact_phone", "text"),
    ],
    "equipment": [
        ("line", "integer"),
        ("id", "uuid"),
        ("site_ref", "text"),
        ("equipment_type", "text"),
        ("model", "text"),
        ("serial", "text"),
        ("installed_on", "date"),
        ("warranty_ends_on", "date"),
        ("required_skills", "jsonb"),
        ("criticality", "text"),
    ],
}

# (line, field, reason) for every staged row that cannot go in: repeats within the file, clashes with
# what is stored, references to nothing
_STAGING_CHECKS: dict[str, str] = {
    "customers": """
        SELECT line, 'external_ref' AS field, 'repeats the external_ref of line ' || first_line AS reason
        FROM (SELECT line, min(line) OVER (PARTITION BY external_ref) AS first_line FROM import_stage) d
        WHERE line <> first_line
        UNION ALL
        SELECT s.line, 'external_ref', 'a customer with this external_ref exists'
        FROM import_stage s JOIN customers c ON c.external_ref = s.external_ref
    """,
    "sites": """
        SELECT line, 'external_ref' AS field, 'repeats the external_ref of line ' || first_line AS reason
        FROM (SELECT line, min(line) OVER (PARTITION BY external_ref) AS first_line FROM import_stage) d
        WHERE line <> first_line
        UNION ALL
        SELECT s.line, 'external_ref', 'a site with this external_ref exists'
        FROM import_stage s JOIN sites x ON x.external_ref = s.external_ref
        UNION ALL
        SELECT s.line, 'customer_ref', 'no customer has the external_ref ' || s.customer_ref
        FROM import_stage s LEFT JOIN customers c ON c.external_ref = s.customer_ref
        WHERE c.id IS NULL
    """,
    "equipment": """
        SELECT line, 'serial' AS field, 'repeats the model and serial of line ' || first_line AS reason
        FROM (SELECT line, min(line) OVER (PARTITION BY model, serial) AS first_line FROM import_stage) d
        WHERE line <> first_line
        UNION ALL
        SELECT s.line, 'serial', 'a unit of this model with this serial exists'
        FROM import_stage s JOIN equipment e ON e.model = s.model AND e.serial = s.serial
        UNION ALL
        SELECT s.line, 'site_ref', 'no site has the external_ref ' || s.site_ref
        FROM import_stage s LEFT JOIN sites x ON x.external_ref = s.site_ref
        WHERE x.id IS NULL
    """,
}

_STAGING_MOVES: dict[str, str] = {
    "customers": """
        INSERT INTO customers (id, name, external_ref)
        SELECT gen_random_uuid(), name, external_ref FROM import_stage
    """,
    "sites": """
        INSERT INTO sites (id, customer_id, name, address, location, external_ref, access_hours, contact_name,
                           contact_phone)
        SELECT s.id, c.id, s.name, s.address, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)::geography,
               s.external_ref, s.access_hours, s.contact_name, s.contact_phone
        FROM import_stage s JOIN customers c ON c.external_ref = s.customer_ref
    """,
    "equipment": """
        INSERT INTO equipment (id, site_id, customer_id, equipment_type, model, serial, installed_on,
                               warranty_ends_on, required_skills, criticality)
        SELECT s.id, x.id, x.customer_id, s.equipment_type, s.model, s.serial, s.installed_on,
               s.warranty_ends_on, s.required_skills, s.criticality
        FROM import_stage s JOIN sites x ON x.external_ref = s.site_ref
    """,
}


class ImportStaging:
    """A temporary table for one import, dropped with the transaction."""

    def __init__(self, session: AsyncSession, kind: str) -> None:
        self.session = session
        self.kind = kind
        self.columns = [name for name, _ in _STAGING_COLUMNS[kind]]

    async def create(self) -> None:
        columns = ", ".join(f"{name} {type_}" for name, type_ in _STAGING_COLUMNS[self.kind])
        await self.session.execute(text(f"CREATE TEMPORARY TABLE import_stage ({columns}) ON COMMIT DROP"))

    async def copy(self, records: list[tuple[Any, ...]]) -> None:
        """COPY the records in (binary protocol: the fastest way in)."""
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table("import_stage", records=records, columns=self.columns)

    async def problems(self) -> list[tuple[int, str, str]]:
        await self.session.execute(text("ANALYZE import_stage"))  # a fresh table has no statistics to plan with
        rows = await self.session.execute(text(f"SELECT * FROM ({_STAGING_CHECKS[self.kind]}) p ORDER BY line"))
        return [(r.line, r.field, r.reason) for r in rows]

    async def move(self) -> int:
        result = await self.session.execute(text(_STAGING_MOVES[self.kind]))
        return int(result.rowcount)  # type: ignore[attr-defined]
