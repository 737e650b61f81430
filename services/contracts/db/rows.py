"""What every repository of the contracts service shares: the session, advisory locks, column conversions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.db.tables import NULLABLE_SEARCHED, SEARCHED

R = TypeVar("R")


class Repository:
    """Queries of one aggregate, in the caller's session (the caller's transaction is the unit of work)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, key: str) -> None:
        """Serialise one kind of work per key until the transaction ends (coverage checks, visit generation)."""
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


def skills_to_json(skills: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    return [{"skill": s, "min_level": lvl} for s, lvl in skills]


def skills_from_json(raw: list[dict[str, Any]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((s["skill"], int(s["min_level"])) for s in raw))


def from_row(row: Any, cls: Callable[..., R]) -> R:
    """A row as `cls`: bookkeeping timestamps left out, skills and unit lists in their domain shape."""
    fields = getattr(cls, "__dataclass_fields__", {})
    values = {k: v for k, v in row._mapping.items() if k in fields}
    values["required_skills"] = skills_from_json(values["required_skills"])
    if "equipment_ids" in values:
        values["equipment_ids"] = tuple(sorted(values["equipment_ids"]))
    return cls(**values)


def contains(search: str) -> str:
    """An ILIKE pattern matching `search` anywhere, its own % and _ taken literally."""
    escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def searchable(table: Table) -> ColumnElement[str]:
    """The text a list is searched in, as its trigram index has it (tables.search_expression): the same
    expression, with literal separators (a bound parameter would not match the index's)."""
    parts: list[ColumnElement[str]] = []
    for column in SEARCHED[table.name]:
        value = table.c[column]
        parts.append(func.coalesce(value, literal_column("''")) if column in NULLABLE_SEARCHED else value)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + literal_column("' '") + part
    return joined
