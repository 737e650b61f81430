"""Every customer, site or unit as rows for a CSV export, in the columns the import reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import cast, select

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository, skills_from_json

_BATCH = 2000


class ExportsRepository(Repository):
    """Streams rows in a stable order, a batch at a time (tens of thousands of rows stay out of memory)."""

    def _query(self, kind: str) -> Any:
        if kind == "customers":
            c = t.customers.c
            return select(c.external_ref, c.name).order_by(c.name, c.id)
        if kind == "sites":
            s = t.sites.c
            return (
                select(
                    s.external_ref,
                    t.customers.c.external_ref.label("customer_ref"),
                    s.name,
                    s.address,
                    ST_Y(cast(s.location, Geometry)).label("lat"),
                    ST_X(cast(s.location, Geometry)).label("lon"),
                    s.access_hours,
                    s.contact_name,
                    s.contact_phone,
                )
                .join(t.customers, t.customers.c.id == s.customer_id)
                .order_by(s.name, s.id)
            )
        e = t.equipment.c
        return (
            select(
                t.sites.c.external_ref.label("site_ref"),
                e.equipment_type,
                e.model,
                e.serial,
                e.installed_on,
                e.warranty_ends_on,
                e.required_skills,
                e.criticality,
            )
            .join(t.sites, t.sites.c.id == e.site_id)
            .order_by(e.equipment_type, e.serial, e.id)
        )

    async def rows(self, kind: str) -> AsyncIterator[dict[str, Any]]:
        result = await self.session.stream(self._query(kind).execution_options(yield_per=_BATCH))
        async for row in result:
            values = dict(row._mapping)
            if "required_skills" in values:
                values["required_skills"] = skills_from_json(values["required_skills"])
            yield values
