"""Technicians: who they are, their skills, status and live position, their route version, shifts and absences,
breaks taken, and the nearest skilled ones on shift (the emergency's candidates)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import DateTime, cast, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository, latitude, longitude, point_wkt
from services.dispatch.domain.calendar import Absence, ShiftSpan
from services.dispatch.domain.records import ReachableTechnician, ShiftRecord, TechnicianOnShift, TechnicianRecord
from shared.db import record, records


@cache
def _candidates_sql(skill_count: int) -> str:
    """Planar KNN over live positions (GiST on position::geometry), then the nearest on shift by true distance.

    "On shift" is the shift on now or the next one starting before the horizon ($8): an emergency filed at 07:40
    can go to someone whose shift starts at 08:00. One statement per number of skills asked for: `skills ->> $n`
    compared to a literal parameter is far cheaper per row than expanding a jsonb of needs.
    """
    skilled = "".join(
        f" AND coalesce((t.skills ->> ${10 + 2 * k})::int, 0) >= ${11 + 2 * k}::int" for k in range(skill_count)
    )
    return f"""
        WITH nearest AS (
            SELECT t.id, t.first_name, t.skills, t.route_version, t.overtime_minutes, t.break_ends_at, t.territory_ids,
                   t.position::geometry AS here, t.home_base::geometry AS home,
                   sh.starts_at AS shift_start, sh.break_minutes, sh.break_earliest, sh.break_latest,
                   -- run on into the next shift when it starts right as this one ends
                   -- (round the clock, night shifts): an emergency at 23:10 may end after midnight
                   coalesce((SELECT n.ends_at FROM shifts n
                              WHERE n.technician_id = t.id AND n.starts_at = sh.ends_at LIMIT 1),
                            sh.ends_at) AS shift_end
            FROM technicians t
            LEFT JOIN LATERAL (
                SELECT s.starts_at, s.ends_at, s.break_minutes, s.break_earliest, s.break_latest FROM shifts s
                 WHERE s.technician_id = t.id AND s.ends_at > $3 AND s.starts_at <= $8
                 ORDER BY s.starts_at LIMIT 1
            ) sh ON true
            WHERE t.active AND t.id <> ALL($6::uuid[]){skilled}
              -- crossing forbidden ($9 the site's territory): floaters and the territory's own technicians only
              AND ($9::uuid IS NULL OR cardinality(t.territory_ids) = 0 OR $9::uuid = ANY(t.territory_ids))
            ORDER BY t.position::geometry <-> ST_SetSRID(ST_MakePoint($2, $1), 4326)
            LIMIT $7
        ), reached AS (
            SELECT n.*, ST_DistanceSphere(n.here, ST_SetSRID(ST_MakePoint($2, $1), 4326)) AS distance_m
            FROM nearest n WHERE n.shift_end IS NOT NULL
        )
        SELECT id, first_name, skills, route_version, overtime_minutes, shift_start, shift_end, break_minutes,
               break_earliest, break_latest, distance_m, break_ends_at,
               ST_Y(here) AS lat, ST_X(here) AS lon, ST_Y(home) AS home_lat, ST_X(home) AS home_lon, territory_ids
        FROM reached WHERE distance_m <= $4 ORDER BY distance_m LIMIT $5"""


class TechnicianRepository(SessionRepository):
    async def add_technician(
        self,
        technician_id: uuid.UUID,
        name: str,
        first_name: str,
        skills: dict[str, int],
        lat: float,
        lon: float,
        weekly_shifts: dict[str, Any] | None = None,
        territory: str | None = None,
        overtime_minutes: int = 60,
        phone: str = "",
        max_travel_minutes: int | None = None,
        overtime_cost_per_hour: float | None = None,
        territory_ids: Sequence[uuid.UUID] = (),
    ) -> None:
        point = point_wkt(lat, lon)
        await self.session.execute(
            insert(t.technicians).values(
                id=technician_id,
                name=name,
                first_name=first_name,
                skills=skills,
                home_base=point,
                position=point,
                weekly_shifts=weekly_shifts,
                territory=territory,
                territory_ids=list(territory_ids),
                overtime_minutes=overtime_minutes,
                phone=phone,
                max_travel_minutes=max_travel_minutes,
                overtime_cost_per_hour=overtime_cost_per_hour,
            )
        )

    def _technician_columns(self) -> tuple[Any, ...]:
        tech = t.technicians
        return (
            tech.c.id,
            tech.c.name,
            tech.c.first_name,
            tech.c.skills,
            tech.c.status,
            tech.c.active,
            latitude(tech.c.home_base, "home_lat"),
            longitude(tech.c.home_base, "home_lon"),
            latitude(tech.c.position, "lat"),
            longitude(tech.c.position, "lon"),
            tech.c.position_at,
            tech.c.weekly_shifts,
            tech.c.territory,
            tech.c.overtime_minutes,
            tech.c.route_version,
            tech.c.break_ends_at,
            tech.c.phone,
            tech.c.photo_key,
            tech.c.photo_content_type,
            tech.c.max_travel_minutes,
            tech.c.overtime_cost_per_hour,
            tech.c.territory_ids,
        )

    async def get_technician(self, technician_id: uuid.UUID, *, for_update: bool = False) -> TechnicianRecord | None:
        query = select(*self._technician_columns()).where(t.technicians.c.id == technician_id)
        if for_update:
            query = query.with_for_update(of=t.technicians)
        row = (await self.session.execute(query)).first()
        return record(TechnicianRecord, row) if row else None

    async def list_technicians(self, ids: Sequence[uuid.UUID] | None = None) -> list[TechnicianRecord]:
        query = select(*self._technician_columns()).order_by(t.technicians.c.name)
        if ids is not None:
            query = query.where(t.technicians.c.id.in_(list(ids)))
        return records(TechnicianRecord, await self.session.execute(query))

    async def set_weekly_shifts(self, technician_id: uuid.UUID, pattern: dict[str, Any] | None) -> None:
        await self.session.execute(
            update(t.technicians).where(t.technicians.c.id == technician_id).values(weekly_shifts=pattern)
        )

    async def set_limits(
        self,
        technician_id: uuid.UUID,
        overtime_minutes: int,
        max_travel_minutes: int | None,
        overtime_cost_per_hour: float | None,
    ) -> None:
        await self.session.execute(
            update(t.technicians)
            .where(t.technicians.c.id == technician_id)
            .values(
                overtime_minutes=overtime_minutes,
                max_travel_minutes=max_travel_minutes,
                overtime_cost_per_hour=overtime_cost_per_hour,
            )
        )

    async def set_technician_status(
        self, technician_id: uuid.UUID, status: str, break_ends_at: datetime | None = None
    ) -> None:
        """The technician's status; `break_ends_at` is kept only while on a break (any other status clears it)."""
        await self.session.execute(
            update(t.technicians)
            .where(t.technicians.c.id == technician_id)
            .values(status=status, break_ends_at=break_ends_at)
        )

    async def set_technician_photo(self, technician_id: uuid.UUID, key: str, content_type: str) -> bool:
        """False when there is no such technician."""
        result = await self.session.execute(
            update(t.technicians)
            .where(t.technicians.c.id == technician_id)
            .values(photo_key=key, photo_content_type=content_type)
            .returning(t.technicians.c.id)
        )
        return result.first() is not None

    async def move_technician(self, technician_id: uuid.UUID, at: datetime, lat: float, lon: float) -> None:
        """The live position follows the newest ping only (batches may arrive out of order)."""
        tech = t.technicians
        await self.session.execute(
            update(tech)
            .where(tech.c.id == technician_id, or_(tech.c.position_at.is_(None), tech.c.position_at < at))
            .values(position=point_wkt(lat, lon), position_at=at)
        )

    async def add_pings(
        self,
        technician_id: uuid.UUID,
        pings: Sequence[tuple[datetime, float, float, int | None]],
        received_at: datetime | None = None,
    ) -> int:
        if not pings:
            return 0
        result = await self.session.execute(
            pg_insert(t.position_pings)
            .values(
                [
                    {
                        "technician_id": technician_id,
                        "at": at,
                        "position": point_wkt(lat, lon),
                        "accuracy_m": accuracy,
                        "received_at": received_at,
                    }
                    for at, lat, lon, accuracy in pings
                ]
            )
            .on_conflict_do_nothing()
            .returning(t.position_pings.c.at)
        )
        return len(result.all())

    async def bump_route_version(self, technician_id: uuid.UUID, seen: int | None = None) -> bool:
        """Claims the technician's route for a change; False when someone changed it since `seen`."""
        tech = t.technicians
        query = update(tech).where(tech.c.id == technician_id)
        if seen is not None:
            query = query.where(tech.c.route_version == seen)
        result = await self.session.execute(query.values(route_version=tech.c.route_version + 1).returning(tech.c.id))
        return result.first() is not None

    async def bump_route_versions(self, technician_ids: Sequence[uuid.UUID]) -> None:
        if technician_ids:
            tech = t.technicians
            await self.session.execute(
                update(tech)
                .where(tech.c.id.in_(sorted(set(technician_ids))))
                .values(route_version=tech.c.route_version + 1)
            )

    async def add_absence(
        self, technician_id: uuid.UUID, kind: str, starts_at: datetime, ends_at: datetime, note: str
    ) -> uuid.UUID:
        absence_id = uuid.uuid4()
        await self.session.execute(
            insert(t.absences).values(
                id=absence_id, technician_id=technician_id, kind=kind, starts_at=starts_at, ends_at=ends_at, note=note
            )
        )
        return absence_id

    async def absences_between(
        self, technician_ids: Sequence[uuid.UUID] | None, start: datetime, end: datetime
    ) -> dict[uuid.UUID, list[Absence]]:
        a = t.absences
        query = select(a).where(a.c.starts_at < end, a.c.ends_at > start).order_by(a.c.starts_at)
        if technician_ids is not None:
            query = query.where(a.c.technician_id.in_(list(technician_ids)))
        found: dict[uuid.UUID, list[Absence]] = {}
        for r in await self.session.execute(query):
            found.setdefault(r.technician_id, []).append(Absence(r.starts_at, r.ends_at, r.kind))
        return found

    async def replace_shifts(self, technician_id: uuid.UUID, days: Sequence[date], spans: Sequence[ShiftSpan]) -> None:
        s = t.shifts
        await self.session.execute(delete(s).where(s.c.technician_id == technician_id, s.c.day.in_(list(days))))
        if spans:
            await self.session.execute(
                insert(s).values(
                    [
                        {
                            "technician_id": technician_id,
                            "day": span.day,
                            "starts_at": span.starts_at,
                            "ends_at": span.ends_at,
                            "break_minutes": span.break_minutes,
                            "break_earliest": span.break_earliest,
                            "break_latest": span.break_latest,
                        }
                        for span in spans
                    ]
                )
            )

    async def shifts_of_day(self, day: date) -> list[TechnicianOnShift]:
        """Active technicians with a shift on `day`, with everything the planner needs of them."""
        tech, s = t.technicians, t.shifts
        rows = await self.session.execute(
            select(
                *self._technician_columns(),
                s.c.starts_at,
                s.c.ends_at,
                s.c.break_minutes,
                s.c.break_earliest,
                s.c.break_latest,
            )
            .join(s, s.c.technician_id == tech.c.id)
            .where(s.c.day == day, tech.c.active.is_(True))
            .order_by(tech.c.id)
        )
        return records(TechnicianOnShift, rows)

    async def shift_of(self, technician_id: uuid.UUID, day: date) -> ShiftRecord | None:
        s = t.shifts
        row = (await self.session.execute(select(s).where(s.c.technician_id == technician_id, s.c.day == day))).first()
        return record(ShiftRecord, row) if row else None

    async def breaks_taken_since(
        self, technician_ids: Sequence[uuid.UUID] | None, since: datetime
    ) -> dict[uuid.UUID, datetime]:
        """Per technician, the end of the latest break started through the mobile API that ends after `since`.

        The break commands' stored answers are the only record of breaks already over (`break_ends_at` on the
        technician lasts only while the break does); their `break_ends_at` is on the service's clock.
        """
        m = t.mobile_commands
        ends = cast(m.c.response["break_ends_at"].astext, DateTime(timezone=True))
        query = (
            select(m.c.technician_id, func.max(ends).label("ends_at"))
            .where(
                m.c.kind == "break", m.c.status_code == 200, m.c.response["status"].astext == "on_break", ends > since
            )
            .group_by(m.c.technician_id)
        )
        if technician_ids is not None:
            query = query.where(m.c.technician_id.in_(list(technician_ids)))
        return {r.technician_id: r.ends_at for r in await self.session.execute(query)}

    async def candidates(
        self,
        lat: float,
        lon: float,
        skills: dict[str, int],
        now: datetime,
        reach_m: float,
        limit: int,
        exclude: Sequence[uuid.UUID] = (),
        shift_starts_before: datetime | None = None,
        only_territory: uuid.UUID | None = None,
    ) -> list[ReachableTechnician]:
        """Active technicians with every skill at its level, within reach, nearest first (KNN), on shift now or
        with a shift starting before ``shift_starts_before`` (default: now); with ``only_territory`` (crossing
        forbidden) only that territory's technicians and floaters."""
        needs = [arg for skill, level in sorted(skills.items()) for arg in (skill, level)]
        horizon = max(now, shift_starts_before or now)
        # the nearest on the plane, then those of them on shift by true distance
        rows = await (await self._driver()).fetch(
            _candidates_sql(len(skills)),
            lat,
            lon,
            now,
            reach_m,
            limit,
            list(exclude),
            limit * 4,
            horizon,
            only_territory,
            *needs,
        )
        return records(ReachableTechnician, rows)
