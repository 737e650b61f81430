"""Jobs: the work dispatch serves (emergencies and planned visits), their status, what is plannable or open,
and the SLA alerts raised about them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.dispatch.db import tables as t
from services.dispatch.db.common import ACTIVE, ACTIVE_SQL, SessionRepository, latitude, longitude
from services.dispatch.domain.records import AlertRecord, JobRecord, NewJob, VisitDueAtSite
from shared.db import record, records

_DUE_VISITS_AT_SITE_SQL = f"""
    SELECT j.request_id, j.window_start, j.window_end, j.duration_minutes, j.required_skills, j.customer_id,
           a.id AS assignment_id, a.status AS assignment_status, a.technician_id
    FROM jobs j LEFT JOIN assignments a ON a.request_id = j.request_id AND a.status IN {ACTIVE_SQL}
    WHERE j.site_id = $1 AND j.kind = 'planned' AND j.status IN ('open', 'assigned') AND j.request_id <> $2
    FOR UPDATE OF j"""


@cache
def _add_job_sql() -> str:
    columns = [c.name for c in t.jobs.c if c.name != "location"]
    return (
        "INSERT INTO jobs (request_id, customer_id, site_id, kind, priority, location, required_skills, "
        "response_due, fix_due, duration_minutes, status, contract_id, description, equipment_ids, window_start, "
        "window_end, contact_name, contact_phone, address, created_at, windows, late_penalty_per_hour, visit_value, "
        "territory_id) VALUES ($1, $2, $3, $4, $5, "
        "ST_SetSRID(ST_MakePoint($7, $6), 4326)::geography, $8::jsonb, $9, $10, $11, $12, $13, $14, $15::jsonb, "
        "$16, $17, $18, $19, $20, COALESCE($21::timestamptz, now()), $22::jsonb, $23, $24, $25) ON CONFLICT DO NOTHING "
        "RETURNING " + ", ".join(columns) + ", ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon"
    )


class JobRepository(SessionRepository):
    def _job_columns(self) -> tuple[Any, ...]:
        j = t.jobs
        return (
            *(c for c in j.c if c.name != "location"),
            latitude(j.c.location, "lat"),
            longitude(j.c.location, "lon"),
        )

    async def add_job(self, job: NewJob, lat: float, lon: float) -> JobRecord | None:
        """Records new work; returns it as `get_job` would (locked: it is ours), None if it was known already."""
        row = await (await self._driver()).fetchrow(
            _add_job_sql(),
            job.request_id,
            job.customer_id,
            job.site_id,
            job.kind,
            job.priority,
            lat,
            lon,
            json.dumps(job.required_skills),
            job.response_due,
            job.fix_due,
            job.duration_minutes,
            job.status,
            job.contract_id,
            job.description,
            json.dumps(job.equipment_ids),
            job.window_start,
            job.window_end,
            job.contact_name,
            job.contact_phone,
            job.address,
            job.created_at,  # when the customer asked (response times count from it)
            json.dumps(job.windows) if job.windows is not None else None,
            job.late_penalty_per_hour,
            job.visit_value,
            job.territory_id,
        )
        return record(JobRecord, row) if row is not None else None

    async def upsert_visit(self, values: dict[str, Any]) -> bool:
        """A planned visit as contracts last described it; an older event than the one applied changes nothing."""
        j = t.jobs
        changes = {k: v for k, v in values.items() if k not in ("request_id", "status")}
        result = await self.session.execute(
            pg_insert(j)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[j.c.request_id],
                set_=changes,
                where=or_(j.c.source_version.is_(None), j.c.source_version < values["source_version"]),
            )
            .returning(j.c.request_id)
        )
        return result.first() is not None

    async def set_job_status(
        self, request_id: uuid.UUID, status: str, reason: str | None = None, bundled_with: uuid.UUID | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "unplaceable_reason": reason}
        if bundled_with is not None:
            values["bundled_with"] = bundled_with
        await self.session.execute(update(t.jobs).where(t.jobs.c.request_id == request_id).values(**values))

    async def get_job(self, request_id: uuid.UUID, *, for_update: bool = False) -> JobRecord | None:
        query = select(*self._job_columns()).where(t.jobs.c.request_id == request_id)
        if for_update:
            query = query.with_for_update(of=t.jobs)
        row = (await self.session.execute(query)).first()
        return record(JobRecord, row) if row else None

    async def waiting_emergencies(self, limit: int) -> list[uuid.UUID]:
        """Emergencies nobody is booked for (still open, or found unplaceable), the most urgent first."""
        j = t.jobs
        rows = await self.session.execute(
            select(j.c.request_id)
            .where(j.c.kind == "emergency", j.c.status.in_(("open", "unplaceable")))
            .order_by(j.c.response_due.asc().nulls_last(), j.c.created_at)
            .limit(limit)
        )
        return [r.request_id for r in rows]

    async def jobs(self, request_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, JobRecord]:
        if not request_ids:
            return {}
        rows = await self.session.execute(
            select(*self._job_columns()).where(t.jobs.c.request_id.in_(list(request_ids)))
        )
        return {r.request_id: record(JobRecord, r) for r in rows}

    async def due_visits_at_site(self, site_id: uuid.UUID, exclude: uuid.UUID) -> list[VisitDueAtSite]:
        """Planned visits of a site not yet done, with their active booking's status if any."""
        return records(VisitDueAtSite, await (await self._driver()).fetch(_DUE_VISITS_AT_SITE_SQL, site_id, exclude))

    async def plannable_jobs(self, start: datetime, end: datetime) -> list[JobRecord]:
        """Open work whose window meets [start, end), work booked to start in it, and emergencies filed before its
        end that the reactive placement found no room for (``unplaceable``: only a plan may move other work for
        them; one still ``open`` is being placed right now)."""
        j, a = t.jobs, t.assignments
        booked_in_day = exists().where(
            a.c.request_id == j.c.request_id,
            a.c.status.in_(ACTIVE),
            a.c.planned_start >= start,
            a.c.planned_start < end,
        )
        booked_at_all = exists().where(a.c.request_id == j.c.request_id, a.c.status.in_(ACTIVE))
        open_in_window = and_(
            j.c.status == "open",
            j.c.kind != "emergency",
            ~booked_at_all,
            or_(j.c.window_start.is_(None), j.c.window_start < end),
            or_(j.c.window_end.is_(None), j.c.window_end > start),
        )
        waiting_emergency = and_(
            j.c.status == "unplaceable",
            j.c.kind == "emergency",
            ~booked_at_all,
            j.c.created_at < end,
        )
        rows = await self.session.execute(
            select(*self._job_columns())
            .where(or_(booked_in_day, open_in_window, waiting_emergency))
            .order_by(j.c.request_id)
        )
        return records(JobRecord, rows)

    async def open_jobs(self) -> list[JobRecord]:
        j = t.jobs
        rows = await self.session.execute(
            select(*self._job_columns())
            .where(j.c.status.in_(("open", "unplaceable", "assigned")))
            .order_by(j.c.response_due.nulls_last(), j.c.created_at)
        )
        return records(JobRecord, rows)

    async def raise_alert(
        self, request_id: uuid.UUID, kind: str, predicted: datetime | None, reason: str, *, at: datetime
    ) -> bool:
        """True the first time only; `at`: when, by the service's clock."""
        values: dict[str, Any] = {
            "request_id": request_id,
            "kind": kind,
            "predicted_arrival": predicted,
            "raised_at": at,
        }
        result = await self.session.execute(
            pg_insert(t.sla_alerts)
            .values(**values, reason=reason)
            .on_conflict_do_nothing()
            .returning(t.sla_alerts.c.request_id)
        )
        return result.first() is not None

    async def alerts(self) -> list[AlertRecord]:
        """The dispatcher's alerts (SLA at risk, implausible status steps), newest first, with the request's job."""
        al, j = t.sla_alerts, t.jobs
        rows = await self.session.execute(
            select(al, j.c.kind.label("job_kind"), j.c.address, j.c.status.label("job_status"))
            .select_from(al.outerjoin(j, j.c.request_id == al.c.request_id))
            .order_by(al.c.raised_at.desc())
        )
        return records(AlertRecord, rows)
