"""The quality KPIs' read model: per (period, group) tallies summed in one SQL statement."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.domain.kpis import Bucket, GroupBy, KpiPolicy, KpiTally, Ratio
from shared.events.common import RequestKind

KPI_FILTERS = ("customer_id", "contract_id", "site_id", "equipment_id")

# The KPI tallies of domain/kpis.py (`compute_kpis` is the definition, tests hold the two together), in one
# pass: each visit's first moment per status, ranked per request (first arrival, completing visit, credited
# technician), then each request's outcomes, then sums per (period, group). Filters left NULL select all.
_KPI_TALLIES = text("""
WITH scope AS NOT MATERIALIZED (
    -- the requests the filters select, filed in the period or up to the repeat window after it
    SELECT r.id, r.created_at, r.customer_id, r.site_id, r.equipment_id, r.contract_id, r.response_due, r.fix_due,
           r.cancelled_at, r.follow_up_of, r.kind
    FROM service_requests r
    WHERE r.created_at >= :period_from AND r.created_at < :scope_to
      AND (CAST(:customer_id AS uuid) IS NULL OR r.customer_id = CAST(:customer_id AS uuid))
      AND (CAST(:contract_id AS uuid) IS NULL OR r.contract_id = CAST(:contract_id AS uuid))
      AND (CAST(:site_id AS uuid) IS NULL OR r.site_id = CAST(:site_id AS uuid))
      AND (CAST(:equipment_id AS uuid) IS NULL OR r.equipment_id = CAST(:equipment_id AS uuid))
),
jobs AS (
    -- the requests counted (of one kind, if asked); a repeat visit is any later request in the scope
    SELECT * FROM scope WHERE created_at < :period_to AND (CAST(:kind AS text) IS NULL OR kind = CAST(:kind AS text))
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
        CAST(date_trunc(CAST(:trunc AS text), j.created_at AT TIME ZONE CAST(:timezone AS text)) AS date)
            AS period_start,
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
        CASE WHEN j.follow_up_of IS NULL AND j.kind <> 'planned'
             THEN EXTRACT(EPOCH FROM v.arrived_at - j.created_at) / 60
        END AS response_minutes,
        CASE WHEN j.follow_up_of IS NULL AND j.kind = 'emergency'
             THEN EXTRACT(EPOCH FROM v.arrived_at - j.created_at) / 60
        END AS emergency_response_minutes,
        CASE WHEN v.arrival_promised_eta IS NOT NULL
             THEN GREATEST(0, EXTRACT(EPOCH FROM v.arrived_at - v.arrival_promised_eta) / 60)
        END AS eta_late_minutes,
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
       count(*) FILTER (WHERE nps <= 6) AS nps_detractors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY emergency_response_minutes) AS emergency_response_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY emergency_response_minutes) AS emergency_response_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY eta_late_minutes) AS eta_late_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY eta_late_minutes) AS eta_late_p90
FROM outcomes
GROUP BY period_start, key
""")


class KpiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def kpi_tallies(
        self,
        *,
        period_from: datetime,
        period_to: datetime,
        as_of: datetime,
        bucket: Bucket,
        group_by: GroupBy,
        filters: dict[str, uuid.UUID],
        policy: KpiPolicy,
        kind: RequestKind | None = None,
    ) -> list[KpiTally]:
        """Per (period, group), the sums of the requests filed in [period_from, period_to), added up in one query."""
        unknown = set(filters) - set(KPI_FILTERS)
        if unknown:
            raise ValueError(f"no KPI filter on {sorted(unknown)}")
        rows = await self.session.execute(
            _KPI_TALLIES,
            {
                "period_from": period_from,
                "period_to": period_to,
                "scope_to": period_to + policy.repeat_window,
                "as_of": as_of,
                "tolerance": policy.on_time_tolerance,
                "repeat_window": policy.repeat_window,
                "timezone": policy.timezone.key,
                "trunc": None if bucket == "all" else bucket,
                "group_by": group_by,
                "kind": kind,
                **{name: filters.get(name) for name in KPI_FILTERS},
            },
        )
        return [
            KpiTally(
                period_start=row.period_start,
                key=row.key,
                requests=row.requests,
                response_sla=Ratio(row.response_count, row.response_hits),
                fix_sla=Ratio(row.fix_count, row.fix_hits),
                on_time_arrival=Ratio(row.on_time_count, row.on_time_hits),
                first_time_fix=Ratio(row.first_time_fix_count, row.first_time_fix_hits),
                repeat_visits=Ratio(row.repeat_count, row.repeat_hits),
                response_count=row.response_minutes_count,
                response_minutes_total=float(row.response_minutes_total),
                csat_count=row.csat_count,
                csat_total=row.csat_total,
                nps_count=row.nps_count,
                nps_promoters=row.nps_promoters,
                nps_detractors=row.nps_detractors,
                emergency_response_p50=_float(row.emergency_response_p50),
                emergency_response_p90=_float(row.emergency_response_p90),
                eta_late_p50=_float(row.eta_late_p50),
                eta_late_p90=_float(row.eta_late_p90),
            )
            for row in rows
        ]


def _float(value: float | Decimal | None) -> float | None:
    return None if value is None else float(value)
