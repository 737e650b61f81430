"""What other services tell contracts: requests filed and cancelled, assignment steps; SLA compliance from them."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository
from services.contracts.domain.contract import AssignmentStep, ServiceJob, SlaCounts

_SLA_COMPLIANCE = text("""
WITH jobs AS (
    SELECT j.request_id, j.response_due, j.fix_due,
           (SELECT min(s.at) FROM assignment_steps s
            WHERE s.request_id = j.request_id AND s.status IN ('on_site', 'completed')) AS arrived_at,
           (SELECT min(s.at) FROM assignment_steps s
            WHERE s.request_id = j.request_id AND s.status = 'completed') AS completed_at
    FROM service_jobs j
    WHERE j.contract_id = :contract_id AND j.cancelled_at IS NULL
)
SELECT
    count(*) AS requests,
    count(*) FILTER (WHERE response_due IS NOT NULL AND arrived_at <= response_due) AS response_met,
    count(*) FILTER (WHERE response_due IS NOT NULL AND (arrived_at > response_due
                     OR (arrived_at IS NULL AND response_due < :now))) AS response_breached,
    count(*) FILTER (WHERE fix_due IS NOT NULL AND completed_at <= fix_due) AS fix_met,
    count(*) FILTER (WHERE fix_due IS NOT NULL AND (completed_at > fix_due
                     OR (completed_at IS NULL AND fix_due < :now))) AS fix_breached
FROM jobs
""")


class ServiceJobsRepository(Repository):
    """Service jobs (requests) and assignment steps as contracts heard of them."""

    async def record_service_job(self, job: ServiceJob) -> None:
        await self.session.execute(pg_insert(t.service_jobs).values(**asdict(job)).on_conflict_do_nothing())

    async def cancel_service_job(self, request_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(t.service_jobs).where(t.service_jobs.c.request_id == request_id).values(cancelled_at=at)
        )

    async def record_assignment_step(self, step: AssignmentStep) -> None:
        await self.session.execute(pg_insert(t.assignment_steps).values(**asdict(step)).on_conflict_do_nothing())

    async def sla_compliance(self, contract_id: uuid.UUID, now: datetime) -> SlaCounts:
        row = (await self.session.execute(_SLA_COMPLIANCE, {"contract_id": contract_id, "now": now})).one()
        return SlaCounts(**{k: int(n) for k, n in row._mapping.items()})
