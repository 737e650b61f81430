"""Every query of the requests service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.db import tables as t
from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy, KpiTally, Ratio
from services.requests.domain.lifecycle import AssignmentView

# NOTIFY channel woken with a request id whenever that request's timeline grows (payload: the id)
TIMELINE_CHANNEL = "requests_timeline"


KPI_FILTERS = ("customer_id", "contract_id", "site_id", "equipment_id")

# The KPI tallies of domain/kpis.py (`compute_kpis` is the definition, tests hold the two together), in one
# pass: each visit's first moment per status, ranked per request (first arrival, completing visit, credited
# technician), then each request's outcomes, then sums per (period, group). Filters left NULL select all.
_KPI_TALLIES = text("""
WITH scope AS NOT MATERIALIZED (
    -- the requests the filters select, filed in the period or up to the repeat window after it
    SELECT r.id, r.created_at, r.customer_id, r.site_id, r.equipment_id, r.contract_id, r.response_due, r.fix_due,
           r.cancelled_at, r.follow_up_of
    FROM service_requests r
    WHERE r.created_at >= :period_from AND r.created_at < :scope_to
      AND (CAST(:customer_id AS uuid) IS NULL OR r.customer_id = CAST(:customer_id AS uuid))
      AND (CAST(:contract_id AS uuid) IS NULL OR r.contract_id = CAST(:contract_id AS uuid))
      AND (CAST(:site_id AS uuid) IS NULL OR r.site_id = CAST(:site_id AS uuid))
      AND (CAST(:equipment_id AS uuid) IS NULL OR r.equipment_id = CAST(:equipment_id AS uuid))
),
jobs AS (
    SELECT * FROM scope WHERE created_at < :period_to
),
steps AS (
    SELECT a.request_id, a.assignment_id, a.technician_id, a.booked_at, a.promised_eta,
           CAST(a.reached ->> 'on_site' AS timestamptz) AS on_site_at,
           CAST(a.reached ->> 'completed' AS timestamptz) AS completed_at,
           CAST(a.reached ->> 'failed' AS timestamptz) AS failed_at,
           CAST(a.reached ->> 'cancelled' AS timestamptz) AS cancelled_at
    FROM request_assignments a JOIN jobs j ON j.id = a.request_id
),
visits AS (
    -- a visit is cancelled when that was the first of its endings (AssignmentView.status)
    SELECT s.*, c.cancelled, s.completed_at IS NOT NULL AND NOT c.cancelled AS completing,
           CASE WHEN s.on_site_at IS NOT NULL THEN 0 WHEN NOT c.cancelled THEN 1 ELSE 2 END AS credit_class
    FROM steps s
    CROSS JOIN LATERAL (SELECT s.cancelled_at IS NOT NULL
                               AND s.cancelled_at <= COALESCE(LEAST(s.completed_at, s.failed_at), s.cancelled_at)
                               AS cancelled) c
),
ranked AS (
    SELECT v.*,
           row_number() OVER (PARTITION BY v.request_id
                              ORDER BY v.on_site_at, v.booked_at, v.assignment_id) AS arrival_rank,
           row_number() OVER (PARTITION BY v.request_id
                              ORDER BY v.completing DESC, v.completed_at, v.booked_at, v.assignment_id)
               AS completing_rank,
           row_number() OVER (PARTITION BY v.request_id
                              ORDER BY v.credit_class, v.booked_at DESC, v.assignment_id) AS credit_rank
    FROM visits v
),
job_visits AS (
    SELECT request_id,
           min(on_site_at) AS arrived_at,
           max(promised_eta) FILTER (WHERE arrival_rank = 1 AND on_site_at IS NOT NULL) AS arrival_promised_eta,
           max(completed_at) FILTER (WHERE completing AND completing_rank = 1) AS completed_at,
           bool_or(failed_at IS NOT NULL) AS failed,
           bool_or(completing AND completing_rank = 1 AND on_site_at IS NOT NULL AND arrival_rank = 1)
               AS fixed_by_first_arrival,
           -- who completed it, else who last went on site, else the last one booked and not cancelled
           COALESCE((array_agg(technician_id) FILTER (WHERE completing AND completing_rank = 1))[1],
                    (array_agg(technician_id) FILTER (WHERE credit_rank = 1 AND credit_class < 2))[1]) AS technician_id
    FROM ranked
    GROUP BY request_id
),
outcomes AS (
    SELECT
        CAST(date_trunc(CAST(:trunc AS text), j.created_at AT TIME ZONE 'UTC') AS date) AS period_start,
        CASE CAST(:group_by AS text)
            WHEN 'technician' THEN v.technician_id
            WHEN 'contract' THEN j.contract_id
            WHEN 'customer' THEN j.customer_id
            WHEN 'site' THEN j.site_id
            WHEN 'unit' THEN j.equipment_id
        END AS key,
        CASE WHEN j.response_due IS NULL THEN NULL
             WHEN v.arrived_at IS NOT NULL THEN v.arrived_at <= j.response_due
             WHEN j.cancelled_at IS NOT NULL OR j.response_due > :as_of THEN NULL
             ELSE false
        END AS response_met,
        CASE WHEN j.fix_due IS NULL THEN NULL
             WHEN v.completed_at IS NOT NULL THEN v.completed_at <= j.fix_due
             WHEN j.cancelled_at IS NOT NULL OR j.fix_due > :as_of THEN NULL
             ELSE false
        END AS fix_met,
        CASE WHEN v.arrival_promised_eta IS NOT NULL
             THEN v.arrived_at <= v.arrival_promised_eta + CAST(:tolerance AS interval)
        END AS on_time,
        CASE WHEN j.follow_up_of IS NOT NULL THEN NULL
             WHEN v.completed_at IS NULL AND NOT COALESCE(v.failed, false) THEN NULL
             ELSE v.completed_at IS NOT NULL AND NOT v.failed AND v.fixed_by_first_arrival
        END AS fixed_first_time,
        CASE WHEN j.follow_up_of IS NULL THEN EXTRACT(EPOCH FROM v.arrived_at - j.created_at) / 60
        END AS response_minutes,
        CASE WHEN j.equipment_id IS NOT NULL AND v.completed_at IS NOT NULL THEN EXISTS (
            SELECT 1 FROM scope later
            WHERE later.equipment_id = j.equipment_id AND later.created_at > v.completed_at
              AND later.created_at <= v.completed_at + CAST(:repeat_window AS interval))
        END AS repeated,
        s.csat, s.nps
    FROM jobs j
    LEFT JOIN job_visits v ON v.request_id = j.id
    LEFT JOIN surveys s ON s.request_id = j.id
)
SELECT period_start, key, count(*) AS requests,
       count(response_met) AS response_count, count(*) FILTER (WHERE response_met) AS response_hits,
       count(fix_met) AS fix_count, count(*) FILTER (WHERE fix_met) AS fix_hits,
       count(on_time) AS on_time_count, count(*) FILTER (WHERE on_time) AS on_time_hits,
       count(fixed_first_time) AS first_time_fix_count, count(*) FILTER (WHERE fixed_first_time) AS first_time_fix_hits,
       count(repeated) AS repeat_count, count(*) FILTER (WHERE repeated) AS repeat_hits,
       count(response_minutes) AS response_minutes_count,
       COALESCE(sum(response_minutes), 0) AS response_minutes_total,
       count(csat) AS csat_count, COALESCE(sum(csat), 0) AS csat_total,
       count(nps) AS nps_count, count(*) FILTER (WHERE nps >= 9) AS nps_promoters,
       count(*) FILTER (WHERE nps <= 6) AS nps_detractors
FROM outcomes
GROUP BY period_start, key
""")


class RequestsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- service requests --------------------------------------------------------------------------

    async def insert_if_new(self, values: dict[str, Any]) -> bool:
        """Insert unless (customer, idempotency key) exists; True when this call created it.

        Any conflict means "already filed": a filed request's id follows from (customer, idempotency key), so a
        concurrent duplicate may meet the first on the primary key before the (customer, key) index.
        """
        result = await self.session.execute(
            pg_insert(t.service_requests)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(t.service_requests.c.id)
        )
        return result.first() is not None

    async def by_idempotency_key(self, customer_id: uuid.UUID, key: str) -> dict[str, Any] | None:
        row = (await self.session.execute(
            select(t.service_requests).where(t.service_requests.c.customer_id == customer_id,
                                             t.service_requests.c.idempotency_key == key)
        )).first()
        return dict(row._mapping) if row else None

    async def get(self, request_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return await self._one(select(t.service_requests).where(t.service_requests.c.id == request_id), for_update)

    async def follow_up_of(self, request_id: uuid.UUID) -> uuid.UUID | None:
        """The follow-up request opened for `request_id`, if any."""
        return await self.session.scalar(
            select(t.service_requests.c.id).where(t.service_requests.c.follow_up_of == request_id))

    async def search(self, *, customer_id: uuid.UUID | None = None, site_id: uuid.UUID | None = None,
                     equipment_id: uuid.UUID | None = None, status: str | None = None,
                     limit: int = 100) -> list[dict[str, Any]]:
        c = t.service_requests.c
        query = select(t.service_requests).order_by(c.created_at.desc(), c.id).limit(limit)
        for column, value in ((c.customer_id, customer_id), (c.site_id, site_id), (c.equipment_id, equipment_id),
                              (c.status, status)):
            if value is not None:
                query = query.where(column == value)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    async def update(self, request_id: uuid.UUID, *, updated_at: datetime, **values: Any) -> None:
        await self.session.execute(
            update(t.service_requests)
            .where(t.service_requests.c.id == request_id)
            .values(**values, version=t.service_requests.c.version + 1, updated_at=updated_at)
        )

    # --- timeline ----------------------------------------------------------------------------------

    async def add_timeline(self, request_id: uuid.UUID, status: str, at: datetime,
                           source_event_id: uuid.UUID | None = None, detail: dict[str, Any] | None = None) -> None:
        """Append to the timeline (once per source event and status) and wake the request's live streams."""
        await self.session.execute(
            pg_insert(t.request_timeline)
            .values(request_id=request_id, status=status, at=at, source_event_id=source_event_id,
                    detail=detail or {})
            .on_conflict_do_nothing(index_elements=["request_id", "source_event_id", "status"],
                                    index_where=text("source_event_id IS NOT NULL"))
        )
        # delivered at commit, to every replica's listener
        await self.session.execute(select(func.pg_notify(TIMELINE_CHANNEL, str(request_id))))

    async def timeline(self, request_id: uuid.UUID, *, after_id: int = 0) -> list[dict[str, Any]]:
        c = t.request_timeline.c
        query = select(c.id, c.status, c.at, c.detail).where(c.request_id == request_id)
        if after_id:
            # a live stream reads in insertion order from its cursor
            query = query.where(c.id > after_id).order_by(c.id)
        else:
            query = query.order_by(c.at, c.id)
        return [dict(r._mapping) for r in await self.session.execute(query)]

    # --- assignments -------------------------------------------------------------------------------

    async def assignments(self, request_id: uuid.UUID) -> list[AssignmentView]:
        rows = await self.session.execute(
            select(t.request_assignments).where(t.request_assignments.c.request_id == request_id))
        return [_assignment_view(dict(r._mapping)) for r in rows]

    async def save_assignment(self, request_id: uuid.UUID, view: AssignmentView) -> None:
        values = {
            "request_id": request_id, "technician_id": view.technician_id,
            "technician_first_name": view.technician_first_name, "technician_as_of": view.technician_as_of,
            "booked_at": view.booked_at,
            "promised_eta": view.promised_eta, "eta": view.eta, "eta_as_of": view.eta_as_of,
            "reached": {status: at.isoformat() for status, at in view.reached}, "outcome": view.outcome,
        }
        statement = pg_insert(t.request_assignments).values(assignment_id=view.assignment_id, **values)
        await self.session.execute(statement.on_conflict_do_update(index_elements=["assignment_id"], set_=values))

    # --- surveys -----------------------------------------------------------------------------------

    async def add_survey_if_new(self, values: dict[str, Any]) -> bool:
        result = await self.session.execute(
            pg_insert(t.surveys).values(**values).on_conflict_do_nothing(index_elements=["request_id"])
            .returning(t.surveys.c.id))
        return result.first() is not None

    async def survey(self, survey_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return await self._one(select(t.surveys).where(t.surveys.c.id == survey_id), for_update)

    async def survey_for_request(self, request_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return await self._one(select(t.surveys).where(t.surveys.c.request_id == request_id), for_update)

    async def answer_survey(self, survey_id: uuid.UUID, **values: Any) -> None:
        await self.session.execute(update(t.surveys).where(t.surveys.c.id == survey_id).values(**values))

    async def rating_answers(self, completed_since: datetime) -> list[tuple[int, int | None]]:
        """(csat, nps) of every answered survey of a job completed since `completed_since`."""
        s = t.surveys.c
        rows = await self.session.execute(
            select(s.csat, s.nps).where(s.answered_at.is_not(None), s.completed_at >= completed_since))
        return [(int(r.csat), None if r.nps is None else int(r.nps)) for r in rows]

    # --- quality -----------------------------------------------------------------------------------

    async def kpi_tallies(self, *, period_from: datetime, period_to: datetime, as_of: datetime, bucket: Bucket,
                          group_by: GroupBy, filters: dict[str, uuid.UUID], policy: KpiPolicy) -> list[KpiTally]:
        """Per (period, group), the sums of the requests filed in [period_from, period_to), added up in one query."""
        unknown = set(filters) - set(KPI_FILTERS)
        if unknown:
            raise ValueError(f"no KPI filter on {sorted(unknown)}")
        rows = await self.session.execute(_KPI_TALLIES, {
            "period_from": period_from, "period_to": period_to, "scope_to": period_to + policy.repeat_window,
            "as_of": as_of, "tolerance": policy.on_time_tolerance, "repeat_window": policy.repeat_window,
            "trunc": None if bucket == "all" else bucket, "group_by": group_by,
            **{name: filters.get(name) for name in KPI_FILTERS},
        })
        return [
            KpiTally(
                period_start=row.period_start, key=row.key, requests=row.requests,
                response_sla=Ratio(row.response_count, row.response_hits), fix_sla=Ratio(row.fix_count, row.fix_hits),
                on_time_arrival=Ratio(row.on_time_count, row.on_time_hits),
                first_time_fix=Ratio(row.first_time_fix_count, row.first_time_fix_hits),
                repeat_visits=Ratio(row.repeat_count, row.repeat_hits),
                response_count=row.response_minutes_count, response_minutes_total=float(row.response_minutes_total),
                csat_count=row.csat_count, csat_total=row.csat_total, nps_count=row.nps_count,
                nps_promoters=row.nps_promoters, nps_detractors=row.nps_detractors,
            )
            for row in rows
        ]

    async def _one(self, query: Select[Any], for_update: bool) -> dict[str, Any] | None:
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return dict(row._mapping) if row else None


def _assignment_view(row: dict[str, Any]) -> AssignmentView:
    reached = tuple(sorted(((status, datetime.fromisoformat(at)) for status, at in row["reached"].items()),
                           key=lambda item: (item[1], item[0])))
    return AssignmentView(
        assignment_id=row["assignment_id"], technician_id=row["technician_id"], booked_at=row["booked_at"],
        technician_first_name=row["technician_first_name"], promised_eta=row["promised_eta"], eta=row["eta"],
        eta_as_of=row["eta_as_of"], reached=reached, outcome=row["outcome"], technician_as_of=row["technician_as_of"])
