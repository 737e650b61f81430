"""Every query of the dispatch service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from geoalchemy2.functions import ST_X, ST_Y
from geoalchemy2.types import Geometry
from sqlalchemy import (
    Integer,
    and_,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.dispatch.db import tables as t
from services.dispatch.domain.calendar import Absence, ShiftSpan
from services.dispatch.planning.travel import great_circle_km

ACTIVE = t.ACTIVE_ASSIGNMENT_STATUSES


def point_wkt(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


def _lat(column: Any, name: str) -> Any:
    return ST_Y(cast(column, Geometry)).label(name)


def _lon(column: Any, name: str) -> Any:
    return ST_X(cast(column, Geometry)).label(name)


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
                             lat: float, lon: float, weekly_shifts: dict[str, Any] | None = None,
                             territory: str | None = None, overtime_minutes: int = 60) -> None:
        point = point_wkt(lat, lon)
        await self.session.execute(insert(t.technicians).values(
            id=technician_id, name=name, first_name=first_name, skills=skills, home_base=point, position=point,
            weekly_shifts=weekly_shifts, territory=territory, overtime_minutes=overtime_minutes))

    def _technician_columns(self) -> tuple[Any, ...]:
        tech = t.technicians
        return (
            tech.c.id, tech.c.name, tech.c.first_name, tech.c.skills, tech.c.status, tech.c.active,
            _lat(tech.c.home_base, "home_lat"), _lon(tech.c.home_base, "home_lon"),
            _lat(tech.c.position, "lat"), _lon(tech.c.position, "lon"), tech.c.position_at,
            tech.c.weekly_shifts, tech.c.territory, tech.c.overtime_minutes, tech.c.route_version,
        )

    async def get_technician(self, technician_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(*self._technician_columns()).where(t.technicians.c.id == technician_id))).first()
        return dict(row._mapping) if row else None

    async def list_technicians(self, ids: Sequence[uuid.UUID] | None = None) -> list[dict[str, Any]]:
        query = select(*self._technician_columns()).order_by(t.technicians.c.name)
        if ids is not None:
            query = query.where(t.technicians.c.id.in_(list(ids)))
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def set_weekly_shifts(self, technician_id: uuid.UUID, pattern: dict[str, Any] | None) -> None:
        await self.session.execute(update(t.technicians).where(t.technicians.c.id == technician_id)
                                   .values(weekly_shifts=pattern))

    async def set_technician_status(self, technician_id: uuid.UUID, status: str) -> None:
        await self.session.execute(update(t.technicians).where(t.technicians.c.id == technician_id)
                                   .values(status=status))

    async def move_technician(self, technician_id: uuid.UUID, at: datetime, lat: float, lon: float) -> None:
        """The live position follows the newest ping only (batches may arrive out of order)."""
        tech = t.technicians
        await self.session.execute(update(tech).where(
            tech.c.id == technician_id, or_(tech.c.position_at.is_(None), tech.c.position_at < at))
            .values(position=point_wkt(lat, lon), position_at=at))

    async def add_pings(self, technician_id: uuid.UUID, pings: Sequence[tuple[datetime, float, float, int | None]]
                        ) -> int:
        if not pings:
            return 0
        result = await self.session.execute(pg_insert(t.position_pings).values([
            {"technician_id": technician_id, "at": at, "position": point_wkt(lat, lon), "accuracy_m": accuracy}
            for at, lat, lon, accuracy in pings]).on_conflict_do_nothing().returning(t.position_pings.c.at))
        return len(result.all())

    async def bump_route_version(self, technician_id: uuid.UUID, seen: int | None = None) -> bool:
        """Claims the technician's route for a change; False when someone changed it since `seen`."""
        tech = t.technicians
        query = update(tech).where(tech.c.id == technician_id)
        if seen is not None:
            query = query.where(tech.c.route_version == seen)
        result = await self.session.execute(query.values(route_version=tech.c.route_version + 1)
                                            .returning(tech.c.id))
        return result.first() is not None

    async def bump_route_versions(self, technician_ids: Sequence[uuid.UUID]) -> None:
        if technician_ids:
            tech = t.technicians
            await self.session.execute(update(tech).where(tech.c.id.in_(sorted(set(technician_ids))))
                                       .values(route_version=tech.c.route_version + 1))

    # --- shift calendar ------------------------------------------------------------------------------

    async def add_absence(self, technician_id: uuid.UUID, kind: str, starts_at: datetime, ends_at: datetime,
                          note: str) -> uuid.UUID:
        absence_id = uuid.uuid4()
        await self.session.execute(insert(t.absences).values(
            id=absence_id, technician_id=technician_id, kind=kind, starts_at=starts_at, ends_at=ends_at, note=note))
        return absence_id

    async def absences_between(self, technician_ids: Sequence[uuid.UUID] | None, start: datetime,
                               end: datetime) -> dict[uuid.UUID, list[Absence]]:
        a = t.absences
        query = select(a).where(a.c.starts_at < end, a.c.ends_at > start).order_by(a.c.starts_at)
        if technician_ids is not None:
            query = query.where(a.c.technician_id.in_(list(technician_ids)))
        found: dict[uuid.UUID, list[Absence]] = {}
        for r in await self.session.execute(query):
            found.setdefault(r.technician_id, []).append(Absence(r.starts_at, r.ends_at, r.kind))
        return found

    async def replace_shifts(self, technician_id: uuid.UUID, days: Sequence[date],
                             spans: Sequence[ShiftSpan]) -> None:
        s = t.shifts
        await self.session.execute(delete(s).where(s.c.technician_id == technician_id, s.c.day.in_(list(days))))
        if spans:
            await self.session.execute(insert(s).values([{
                "technician_id": technician_id, "day": span.day, "starts_at": span.starts_at,
                "ends_at": span.ends_at, "break_minutes": span.break_minutes,
                "break_earliest": span.break_earliest, "break_latest": span.break_latest} for span in spans]))

    async def shifts_of_day(self, day: date) -> list[dict[str, Any]]:
        """Active technicians with a shift on `day`, with everything the planner needs of them."""
        tech, s = t.technicians, t.shifts
        rows = await self.session.execute(
            select(*self._technician_columns(), s.c.starts_at, s.c.ends_at, s.c.break_minutes,
                   s.c.break_earliest, s.c.break_latest)
            .join(s, s.c.technician_id == tech.c.id)
            .where(s.c.day == day, tech.c.active.is_(True)).order_by(tech.c.id))
        return [dict(r._mapping) for r in rows]

    async def current_shift(self, technician_id: uuid.UUID, now: datetime) -> dict[str, Any] | None:
        s = t.shifts
        row = (await self.session.execute(select(s).where(
            s.c.technician_id == technician_id, s.c.starts_at <= now, s.c.ends_at > now))).first()
        return dict(row._mapping) if row else None

    async def candidates(self, lat: float, lon: float, skills: dict[str, int], now: datetime, reach_m: float,
                         limit: int, exclude: Sequence[uuid.UUID] = ()) -> list[dict[str, Any]]:
        """Active technicians on shift now with every skill at its level, within reach, nearest first (KNN)."""
        tech, s = t.technicians, t.shifts
        conditions = [tech.c.active.is_(True)]
        for skill, level in skills.items():
            conditions.append(func.coalesce(cast(tech.c.skills[skill].astext, Integer), 0) >= level)
        if exclude:
            conditions.append(tech.c.id.not_in(list(exclude)))
        on_shift = (select(s.c.ends_at).where(s.c.technician_id == tech.c.id, s.c.starts_at <= now,
                                              s.c.ends_at > now).limit(1).scalar_subquery())
        planar = func.ST_GeomFromText(literal(f"POINT({lon} {lat})"), 4326)
        inner = (
            select(tech.c.id, tech.c.first_name, tech.c.skills, tech.c.route_version, tech.c.overtime_minutes,
                   tech.c.position, tech.c.home_base, on_shift.label("shift_end"))
            .where(and_(*conditions))
            # geometry(position) is the indexed expression; CAST(... AS geometry(GEOMETRY,-1)) would not match it
            .order_by(func.geometry(tech.c.position).op("<->")(planar))
            .limit(limit * 4)  # the nearest on the plane, then those of them on shift by true distance
            .subquery()
        )
        rows = [dict(r._mapping) for r in await self.session.execute(
            select(inner.c.id, inner.c.first_name, inner.c.skills, inner.c.route_version, inner.c.overtime_minutes,
                   inner.c.shift_end, _lat(inner.c.position, "lat"), _lon(inner.c.position, "lon"),
                   _lat(inner.c.home_base, "home_lat"), _lon(inner.c.home_base, "home_lon"))
            .where(inner.c.shift_end.is_not(None)))]
        if not rows:
            return []
        # true distance on the sphere for the few found (geography ST_Distance costs ~0.2 ms a call here)
        km = great_circle_km(np.array([[lat, lon]]), np.array([[r["lat"], r["lon"]] for r in rows]))[0]
        for r, d in zip(rows, km, strict=True):
            r["distance_m"] = float(d) * 1000.0
        return sorted((r for r in rows if r["distance_m"] <= reach_m), key=lambda r: r["distance_m"])[:limit]

    async def bookings_ahead(self, technician_ids: Sequence[uuid.UUID], now: datetime,
                             until: datetime) -> list[dict[str, Any]]:
        """Active bookings of these technicians not finished by `now`, with what each must still keep."""
        a, j = t.assignments, t.jobs
        if not technician_ids:
            return []
        # two index lookups rather than one join: the planner hashes all of jobs for the join
        booked = [dict(r._mapping) for r in await self.session.execute(
            select(a.c.id, a.c.request_id, a.c.technician_id, a.c.status, a.c.planned_start, a.c.planned_end,
                   a.c.eta, a.c.locked)
            .where(a.c.technician_id.in_(list(technician_ids)), a.c.status.in_(ACTIVE),
                   or_(a.c.planned_end > now, a.c.status.in_(("en_route", "on_site"))), a.c.planned_start < until)
            .order_by(a.c.technician_id, a.c.planned_start))]
        if not booked:
            return []
        facts = {r.request_id: r for r in await self.session.execute(
            select(j.c.request_id, j.c.window_end, j.c.response_due, j.c.kind, _lat(j.c.location, "lat"),
                   _lon(j.c.location, "lon")).where(j.c.request_id.in_([b["request_id"] for b in booked])))}
        for b in booked:
            job = facts[b["request_id"]]
            b.update(window_end=job.window_end, response_due=job.response_due, kind=job.kind, lat=job.lat,
                     lon=job.lon)
        return booked

    async def declined_by(self, request_id: uuid.UUID) -> list[uuid.UUID]:
        a = t.assignments
        rows = await self.session.execute(select(a.c.technician_id).where(
            a.c.request_id == request_id, a.c.status == "declined"))
        return [r.technician_id for r in rows]

    # --- jobs ----------------------------------------------------------------------------------------

    def _job_columns(self) -> tuple[Any, ...]:
        j = t.jobs
        return (*(c for c in j.c if c.name != "location"), _lat(j.c.location, "lat"), _lon(j.c.location, "lon"))

    async def add_job(self, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            pg_insert(t.jobs).values(**values).on_conflict_do_nothing().returning(t.jobs.c.request_id))
        return result.first() is not None

    async def upsert_visit(self, values: dict[str, Any]) -> bool:
        """A planned visit as contracts last described it; an older event than the one applied changes nothing."""
        j = t.jobs
        changes = {k: v for k, v in values.items() if k not in ("request_id", "status")}
        result = await self.session.execute(
            pg_insert(j).values(**values)
            .on_conflict_do_update(index_elements=[j.c.request_id], set_=changes,
                                   where=or_(j.c.source_version.is_(None),
                                             j.c.source_version < values["source_version"]))
            .returning(j.c.request_id))
        return result.first() is not None

    async def set_job_status(self, request_id: uuid.UUID, status: str, reason: str | None = None,
                             bundled_with: uuid.UUID | None = None) -> None:
        values: dict[str, Any] = {"status": status, "unplaceable_reason": reason}
        if bundled_with is not None:
            values["bundled_with"] = bundled_with
        await self.session.execute(update(t.jobs).where(t.jobs.c.request_id == request_id).values(**values))

    async def get_job(self, request_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(*self._job_columns()).where(t.jobs.c.request_id == request_id)
        if for_update:
            query = query.with_for_update(of=t.jobs)
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def jobs(self, request_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        if not request_ids:
            return {}
        rows = await self.session.execute(select(*self._job_columns()).where(
            t.jobs.c.request_id.in_(list(request_ids))))
        return {r.request_id: dict(r._mapping) for r in rows}

    async def due_visits_at_site(self, site_id: uuid.UUID, exclude: uuid.UUID) -> list[dict[str, Any]]:
        """Planned visits of a site not yet done, with their active booking's status if any."""
        j, a = t.jobs, t.assignments
        rows = await self.session.execute(
            select(j.c.request_id, j.c.window_start, j.c.window_end, j.c.duration_minutes, j.c.required_skills,
                   j.c.customer_id, a.c.id.label("assignment_id"), a.c.status.label("assignment_status"),
                   a.c.technician_id)
            .outerjoin(a, and_(a.c.request_id == j.c.request_id, a.c.status.in_(ACTIVE)))
            .where(j.c.site_id == site_id, j.c.kind == "planned", j.c.status.in_(("open", "assigned")),
                   j.c.request_id != exclude)
            .with_for_update(of=j))
        return [dict(r._mapping) for r in rows]

    async def plannable_jobs(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Open work whose window meets [start, end), and work booked to start in it."""
        j, a = t.jobs, t.assignments
        booked_in_day = exists().where(a.c.request_id == j.c.request_id, a.c.status.in_(ACTIVE),
                                       a.c.planned_start >= start, a.c.planned_start < end)
        booked_at_all = exists().where(a.c.request_id == j.c.request_id, a.c.status.in_(ACTIVE))
        open_in_window = and_(j.c.status == "open", j.c.kind != "emergency", ~booked_at_all,
                              or_(j.c.window_start.is_(None), j.c.window_start < end),
                              or_(j.c.window_end.is_(None), j.c.window_end > start))
        rows = await self.session.execute(select(*self._job_columns())
                                          .where(or_(booked_in_day, open_in_window)).order_by(j.c.request_id))
        return [dict(r._mapping) for r in rows]

    async def open_jobs(self) -> list[dict[str, Any]]:
        j = t.jobs
        rows = await self.session.execute(select(*self._job_columns())
                                          .where(j.c.status.in_(("open", "unplaceable", "assigned")))
                                          .order_by(j.c.response_due.nulls_last(), j.c.created_at))
        return [dict(r._mapping) for r in rows]

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

    async def defer_overlap_check(self) -> None:
        """Check no-overlap at commit: a route moves as a whole within one transaction."""
        await self.session.execute(text("SET CONSTRAINTS ex_assignments_no_overlap DEFERRED"))

    async def check_overlap_now(self) -> None:
        """Runs the deferred no-overlap check at once (raises IntegrityError if broken)."""
        await self.session.execute(text("SET CONSTRAINTS ex_assignments_no_overlap IMMEDIATE"))

    async def get_assignment(self, assignment_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        query = select(t.assignments).where(t.assignments.c.id == assignment_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return dict(row._mapping) if row else None

    async def assignments_of(self, technician_id: uuid.UUID, start: datetime | None = None,
                             end: datetime | None = None) -> list[dict[str, Any]]:
        a = t.assignments
        query = select(a).where(a.c.technician_id == technician_id)
        if start is not None and end is not None:
            query = query.where(a.c.planned_start < end, a.c.planned_end > start)
        return [dict(r._mapping) for r in await self.session.execute(query.order_by(a.c.planned_start))]

    async def overlapping(self, technician_id: uuid.UUID, start: datetime, end: datetime,
                          exclude: uuid.UUID | None = None) -> dict[str, Any] | None:
        a = t.assignments
        query = select(a).where(a.c.technician_id == technician_id, a.c.status.in_(ACTIVE),
                                a.c.planned_start < end, a.c.planned_end > start)
        if exclude is not None:
            query = query.where(a.c.id != exclude)
        row = (await self.session.execute(query.limit(1))).first()
        return dict(row._mapping) if row else None

    async def set_assignment_status(self, assignment_id: uuid.UUID, status: str, at: datetime,
                                    position: tuple[float, float] | None, detail: dict[str, Any],
                                    outcome: str | None = None, report: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": func.now(), "last_transition_at": at,
                                  "version": t.assignments.c.version + 1}
        if outcome is not None:
            values["outcome"] = outcome
        if report is not None:
            values["report"] = report
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(**values))
        await self.add_history(assignment_id, status, at, position, detail)

    async def move_assignment(self, assignment_id: uuid.UUID, *, planned_start: datetime, planned_end: datetime,
                              eta: datetime, technician_id: uuid.UUID | None = None,
                              status: str | None = None) -> None:
        values: dict[str, Any] = {"planned_start": planned_start, "planned_end": planned_end, "eta": eta,
                                  "updated_at": func.now(), "version": t.assignments.c.version + 1}
        if technician_id is not None:
            values["technician_id"] = technician_id
        if status is not None:
            values["status"] = status
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(**values))

    async def retime_assignments(self, moves: Sequence[tuple[uuid.UUID, datetime, datetime, datetime]]
                                 ) -> list[dict[str, Any]]:
        """Moves several bookings of one route in one statement; returns the rows as they were before."""
        if not moves:
            return []
        a = t.assignments
        before = {r.id: dict(r._mapping) for r in await self.session.execute(
            select(a).where(a.c.id.in_([m[0] for m in moves])).with_for_update())}
        await self.session.execute(
            text("UPDATE assignments SET planned_start = v.s, planned_end = v.e, eta = v.eta, updated_at = now(), "
                 "version = version + 1 FROM unnest(CAST(:ids AS uuid[]), CAST(:starts AS timestamptz[]), "
                 "CAST(:ends AS timestamptz[]), CAST(:etas AS timestamptz[])) AS v(id, s, e, eta) "
                 "WHERE assignments.id = v.id"),
            {"ids": [m[0] for m in moves], "starts": [m[1] for m in moves], "ends": [m[2] for m in moves],
             "etas": [m[3] for m in moves]})
        return [before[m[0]] for m in moves]

    async def set_locked(self, assignment_id: uuid.UUID, locked: bool) -> None:
        await self.session.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(
            locked=locked, version=t.assignments.c.version + 1))

    async def add_history(self, assignment_id: uuid.UUID, status: str, at: datetime,
                          position: tuple[float, float] | None = None, detail: dict[str, Any] | None = None) -> None:
        await self.session.execute(insert(t.assignment_history).values(
            assignment_id=assignment_id, status=status, at=at,
            position=point_wkt(*position) if position else None, detail=detail or {}))

    async def history_of(self, assignment_id: uuid.UUID) -> list[dict[str, Any]]:
        h = t.assignment_history
        rows = await self.session.execute(
            select(h.c.status, h.c.at, h.c.detail, _lat(h.c.position, "lat"), _lon(h.c.position, "lon"))
            .where(h.c.assignment_id == assignment_id).order_by(h.c.id))
        return [dict(r._mapping) for r in rows]

    async def active_assignments_for_request(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            select(t.assignments).where(t.assignments.c.request_id == request_id,
                                        t.assignments.c.status.in_(ACTIVE))
            .with_for_update())
        return [dict(r._mapping) for r in rows]

    async def active_assignments_between(self, start: datetime, end: datetime, *,
                                         for_update: bool = False) -> list[dict[str, Any]]:
        a = t.assignments
        query = (select(a).where(a.c.status.in_(ACTIVE), a.c.planned_start >= start, a.c.planned_start < end)
                 .order_by(a.c.technician_id, a.c.planned_start))
        if for_update:
            query = query.with_for_update()
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def site_history(self, site_ids: Sequence[uuid.UUID], before: datetime,
                           limit: int = 5) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Finished work at these sites: what dispatch itself saw done there."""
        a, j = t.assignments, t.jobs
        if not site_ids:
            return {}
        rows = await self.session.execute(
            select(j.c.site_id, a.c.request_id, j.c.kind, a.c.status, a.c.outcome, a.c.report,
                   a.c.last_transition_at.label("finished_at"))
            .join(j, j.c.request_id == a.c.request_id)
            .where(j.c.site_id.in_(list(site_ids)), a.c.status.in_(("completed", "failed")),
                   a.c.last_transition_at < before)
            .order_by(a.c.last_transition_at.desc()))
        found: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for r in rows:
            if len(found.setdefault(r.site_id, [])) < limit:
                found[r.site_id].append(dict(r._mapping))
        return found

    # --- plans ---------------------------------------------------------------------------------------

    async def latest_plan(self, day: date) -> dict[str, Any] | None:
        p = t.plans
        row = (await self.session.execute(select(p).where(p.c.day == day).order_by(p.c.version.desc())
                                          .limit(1))).first()
        return dict(row._mapping) if row else None

    async def add_plan(self, values: dict[str, Any]) -> int:
        """Stores the next version of the day's plan; versions only grow (the unique key backs it)."""
        p = t.plans
        version = (await self.session.execute(
            select(func.coalesce(func.max(p.c.version), 0) + 1).where(p.c.day == values["day"]))).scalar_one()
        await self.session.execute(insert(p).values(**values, version=version))
        return int(version)

    async def try_plan_lock(self, day: date) -> bool:
        """The day's planner lock, held until the transaction ends: one re-plan per day at a time."""
        return bool((await self.session.execute(
            select(func.pg_try_advisory_xact_lock(func.hashtext(f"dispatch-plan:{day.isoformat()}"))))).scalar())

    async def request_replan(self, day: date, reason: str) -> None:
        await self.session.execute(insert(t.replan_requests).values(day=day, reason=reason))

    async def pending_replans(self) -> dict[date, tuple[int, list[str]]]:
        """Per day waiting for a re-plan: the newest request id and the distinct reasons."""
        r = t.replan_requests
        found: dict[date, tuple[int, list[str]]] = {}
        for row in await self.session.execute(select(r.c.id, r.c.day, r.c.reason).order_by(r.c.id)):
            _, reasons = found.get(row.day, (0, []))
            if row.reason not in reasons:
                reasons.append(row.reason)
            found[row.day] = (row.id, reasons)
        return found

    async def clear_replans(self, day: date, up_to_id: int) -> None:
        r = t.replan_requests
        await self.session.execute(delete(r).where(r.c.day == day, r.c.id <= up_to_id))

    # --- mobile commands -----------------------------------------------------------------------------

    async def get_command(self, client_command_id: uuid.UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(t.mobile_commands).where(
            t.mobile_commands.c.client_command_id == client_command_id))).first()
        return dict(row._mapping) if row else None

    async def save_command(self, client_command_id: uuid.UUID, technician_id: uuid.UUID, kind: str,
                           status_code: int, response: Any) -> bool:
        result = await self.session.execute(pg_insert(t.mobile_commands).values(
            client_command_id=client_command_id, technician_id=technician_id, kind=kind, status_code=status_code,
            response=response).on_conflict_do_nothing().returning(t.mobile_commands.c.client_command_id))
        return result.first() is not None

    # --- SLA alerts ----------------------------------------------------------------------------------

    async def raise_alert(self, request_id: uuid.UUID, kind: str, predicted: datetime | None, reason: str) -> bool:
        """True the first time only."""
        result = await self.session.execute(pg_insert(t.sla_alerts).values(
            request_id=request_id, kind=kind, predicted_arrival=predicted, reason=reason)
            .on_conflict_do_nothing().returning(t.sla_alerts.c.request_id))
        return result.first() is not None
