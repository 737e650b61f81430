"""Every query of the dispatch service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import Integer, and_, cast, exists, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db import tables as t
from services.dispatch.domain.placement import Candidate
from shared.events.common import SkillNeed


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


class DoubleBooking(Exception):
    """The database refused a booking: the technician is busy then, or the request is already booked."""


@dataclass(frozen=True)
class NewAssignment:
    id: uuid.UUID
    request_id: uuid.UUID
    technician_id: uuid.UUID
    customer_id: uuid.UUID
    status: str
    planned_start: datetime
    planned_end: datetime
    eta: datetime


class DispatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- technicians ---------------------------------------------------------------------------------

    async def add_technician(self, technician_id: uuid.UUID, name: str, first_name: str, skills: dict[str, int],
                             lat: float, lon: float) -> None:
        point = point_wkt(lat, lon)
        await self.session.execute(insert(t.technicians).values(
            id=technician_id, name=name, first_name=first_name, skills=skills, home_base=point, position=point))

    def _technician_columns(self) -> tuple[Any, ...]:
        tech = t.technicians
        return (
            tech.c.id, tech.c.name, tech.c.first_name, tech.c.skills, tech.c.status, tech.c.active,
            ST_Y(cast(tech.c.home_base, Geometry)).label("home_lat"),
            ST_X(cast(tech.c.home_base, Geometry)).label("home_lon"),
            ST_Y(cast(tech.c.position, Geometry)).label("lat"), ST_X(cast(tech.c.position, Geometry)).label("lon"),
            tech.c.position_at,
        )

    async def get_technician(self, technician_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(*self._technician_columns()).where(t.technicians.c.id == technician_id))).first()
        return dict(row._mapping) if row else None

    async def list_technicians(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(*self._technician_columns()).order_by(t.technicians.c.name))
        return [dict(r._mapping) for r in rows]

    async def nearest_free_candidates(self, lat: float, lon: float, skills: list[SkillNeed], now: datetime,
                                      limit: int) -> list[Candidate]:
        """Active technicians with every skill at its level and no unfinished booking, nearest first (KNN)."""
        tech, a = t.technicians, t.assignments
        point = func.ST_GeogFromText(literal(point_wkt(lat, lon)))
        busy = exists().where(and_(a.c.technician_id == tech.c.id, a.c.status.in_(t.ACTIVE_ASSIGNMENT_STATUSES),
                                   a.c.planned_end > now))
        conditions = [tech.c.active.is_(True), ~busy]
        for need in skills:
            conditions.append(func.coalesce(cast(tech.c.skills[need.skill].astext, Integer), 0) >= need.min_level)
        rows = await self.session.execute(
            select(tech.c.id, tech.c.first_name, func.ST_Distance(tech.c.position, point).label("distance_m"))
            .where(and_(*conditions))
            .order_by(tech.c.position.op("<->")(point))
            .limit(limit)
        )
        return [Candidate(technician_id=r.id, first_name=r.first_name, distance_m=float(r.distance_m)) for r in rows]

    # --- jobs ----------------------------------------------------------------------------------------

    async def add_job(self, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            pg_insert(t.jobs).values(**values).on_conflict_do_nothing().returning(t.jobs.c.request_id))
        return result.first() is not None

    async def set_job_status(self, request_id: uuid.UUID, status: str, reason: str | None = None) -> None:
        await self.session.execute(update(t.jobs).where(t.jobs.c.request_id == request_id)
                                   .values(status=status, unplaceable_reason=reason))

    async def get_job(self, request_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.jobs).where(t.jobs.c.request_id == request_id))).first()
        return dict(row._mapping) if row else None

    # --- assignments ---------------------------------------------------------------------------------

    async def book(self, assignment: NewAssignment) -> None:
        """Insert under the database's constraints; raises DoubleBooking and leaves the transaction usable."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(insert(t.assignments).values(
                    id=assignment.id, request_id=assignment.request_id, technician_id=assignment.technician_id,
                    customer_id=assignment.customer_id, status=assignment.status,
                    planned_start=assignment.planned_start, planned_end=assignment.planned_end, eta=assignment.eta,
                ))
        except IntegrityError as exc:
            raise DoubleBooking(str(exc.orig)) from exc
        await self.add_history(assignment.id, assignment.status, assignment.planned_start)

    async def get_assignment(self, assignment_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(t.assignments).where(t.assignments.c.id == assignment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def assignments_of(self, technician_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.assignments).where(t.assignments.c.technician_id == technician_id)
            .order_by(t.assignments.c.planned_start))
        return [dict(r._mapping) for r in rows]

    async def set_assignment_status(self, assignment_id: uuid.UUID, status: str, at: datetime,
                                    position: tuple[float, float] | None, detail: dict[str, Any]) -> None:
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(
            status=status, updated_at=at, version=t.assignments.c.version + 1))
        await self.add_history(assignment_id, status, at, position, detail)

    async def add_history(self, assignment_id: uuid.UUID, status: str, at: datetime,
                          position: tuple[float, float] | None = None, detail: dict[str, Any] | None = None) -> None:
        await self.session.execute(insert(t.assignment_history).values(
            assignment_id=assignment_id, status=status, at=at,
            position=point_wkt(*position) if position else None, detail=detail or {}))

    async def active_assignments_for_request(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.assignments).where(t.assignments.c.request_id == request_id,
                                        t.assignments.c.status.in_(t.ACTIVE_ASSIGNMENT_STATUSES))
            .with_for_update())
        return [dict(r._mapping) for r in rows]
