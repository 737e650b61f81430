"""What the dispatch repositories share: the session (and its asyncpg connection for the hot path's prepared
statements), point literals, coordinates of a geography column, the statuses of an active booking."""

from __future__ import annotations

from typing import Any

import asyncpg
from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import cast
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db import tables as t

ACTIVE = t.ACTIVE_ASSIGNMENT_STATUSES
ACTIVE_SQL = "('offered', 'accepted', 'en_route', 'on_site')"


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


def latitude(column: Any, name: str) -> Any:
    return ST_Y(cast(column, Geometry)).label(name)


def longitude(column: Any, name: str) -> Any:
    return ST_X(cast(column, Geometry)).label(name)


class SessionRepository:
    """A repository on the caller's session: it never commits; the caller's transaction is the unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._asyncpg: tuple[object, asyncpg.Connection] | None = None  # (the session's transaction, its connection)

    async def _driver(self) -> asyncpg.Connection:
        """The asyncpg connection under this session's transaction, for the hot path's prepared statements."""
        transaction = self.session.get_transaction()
        if self._asyncpg is not None and transaction is not None and self._asyncpg[0] is transaction:
            return self._asyncpg[1]
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        if not driver.is_in_transaction():
            await connection.exec_driver_sql("SELECT 1")  # SQLAlchemy issues the BEGIN of its transaction
        self._asyncpg = (self.session.get_transaction(), driver)
        return driver
