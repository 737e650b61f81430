"""Planned visits: bulk reads and writes for generation, progress and carried-over work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.contracts.db import tables as t
from services.contracts.db.rows import Repository, from_row, skills_to_json
from services.contracts.domain.contract import VisitCounts
from services.contracts.domain.schedule import VisitSpec
from services.contracts.domain.visits import MUTABLE_STATUSES, OPEN_STATUSES, VisitRow
from shared.pagination import Page


def _visit(row: Any) -> VisitRow:
    return from_row(row, VisitRow)


def _visit_values(spec: VisitSpec) -> dict[str, Any]:
    return {
        "schedule_id": spec.schedule_id,
        "occurrence_at": spec.occurrence_at,
        "site_id": spec.site_id,
        "equipment_ids": list(spec.equipment_ids),
        "due_on": spec.window.due_on,
        "due_at": spec.window.due_at,
        "window_start": spec.window.window_start,
        "window_end": spec.window.window_end,
        "duration_minutes": spec.duration_minutes,
        "required_skills": skills_to_json(spec.skills),
        "priority": spec.priority,
    }


_NEXT_VISITS_AFTER = text("""
SELECT f.failed_id, v.*
FROM unnest(CAST(:failed_ids AS uuid[]), CAST(:schedule_ids AS uuid[]), CAST(:since AS timestamptz[]))
     AS f(failed_id, schedule_id, since)
CROSS JOIN LATERAL (
    SELECT * FROM planned_visits p
    WHERE p.schedule_id = f.schedule_id AND p.occurrence_at > f.since AND p.status = ANY (:mutable)
    ORDER BY p.occurrence_at LIMIT 1
) v
""")

_VISIT_SPEC_COLUMNS = (
    "occurrence_at",
    "site_id",
    "equipment_ids",
    "due_on",
    "due_at",
    "window_start",
    "window_end",
    "duration_minutes",
    "required_skills",
    "priority",
)


def _bound(column: str) -> Any:
    """A per-row parameter for one of planned_visits' columns in an executemany UPDATE."""
    return bindparam(f"b_{column}", type_=t.planned_visits.c[column].type)


class VisitsRepository(Repository):
    """Planned visits of contracts."""

    async def visits_to_reconcile(self, contract_id: uuid.UUID, since: datetime, now: datetime) -> list[VisitRow]:
        """The contract's visits from `since` on, plus earlier ones not yet started whose window is still open."""
        v = t.planned_visits
        query = select(v).where(
            v.c.contract_id == contract_id,
            or_(v.c.occurrence_at >= since, and_(v.c.status.in_(MUTABLE_STATUSES), v.c.window_end > now)),
        )
        return [_visit(r) for r in await self.session.execute(query)]

    async def insert_visits(
        self, contract_id: uuid.UUID, customer_id: uuid.UUID, visits: list[tuple[uuid.UUID, VisitSpec]]
    ) -> set[uuid.UUID]:
        """Insert each visit unless its (schedule, occurrence) already has one; the ids inserted."""
        if not visits:
            return set()
        inserted = await self.session.execute(
            pg_insert(t.planned_visits)
            .on_conflict_do_nothing(index_elements=["schedule_id", "occurrence_at"])
            .returning(t.planned_visits.c.id),
            [
                {
                    "id": visit_id,
                    "contract_id": contract_id,
                    "customer_id": customer_id,
                    "status": "planned",
                    **_visit_values(spec),
                }
                for visit_id, spec in visits
            ],
        )
        return set(inserted.scalars())

    async def rewrite_visits(self, rewrites: list[tuple[uuid.UUID, VisitSpec, str]]) -> None:
        """Give each visit its new spec and status (one statement, a row of parameters per visit)."""
        if not rewrites:
            return
        v = t.planned_visits
        statement = (
            update(v)
            .where(v.c.id == bindparam("b_id"))
            .values(
                status=_bound("status"),
                status_changed_at=func.now(),
                **{column: _bound(column) for column in _VISIT_SPEC_COLUMNS},
            )
        )
        rows = []
        for visit_id, spec, status in rewrites:
            values = _visit_values(spec)
            rows.append(
                {
                    "b_id": visit_id,
                    "b_status": status,
                    **{f"b_{column}": values[column] for column in _VISIT_SPEC_COLUMNS},
                }
            )
        await self.session.execute(statement, rows)

    async def set_visits_status(self, visit_ids: list[uuid.UUID], status: str) -> None:
        if visit_ids:
            await self.session.execute(
                update(t.planned_visits)
                .where(t.planned_visits.c.id.in_(visit_ids))
                .values(status=status, status_changed_at=func.now())
            )

    async def set_visit_status(self, visit_id: uuid.UUID, status: str, *, carried_work: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "status_changed_at": func.now()}
        if carried_work is not None:
            values["carried_work"] = carried_work
        await self.session.execute(update(t.planned_visits).where(t.planned_visits.c.id == visit_id).values(**values))

    async def get_visit(self, visit_id: uuid.UUID, *, for_update: bool = False) -> VisitRow | None:
        query = select(t.planned_visits).where(t.planned_visits.c.id == visit_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _visit(row) if row else None

    async def visits_by_id(self, visit_ids: list[uuid.UUID]) -> list[VisitRow]:
        v = t.planned_visits
        rows = await self.session.execute(select(v).where(v.c.id.in_(visit_ids)).order_by(v.c.due_at, v.c.id))
        return [_visit(r) for r in rows]

    async def visits_still_to_make_at(self, site_id: uuid.UUID, now: datetime) -> dict[str, list[uuid.UUID]]:
        """The site's visits not yet under way whose window is still open, by their contract's time zone."""
        v, c = t.planned_visits, t.contracts
        rows = await self.session.execute(
            select(v.c.id, c.c.timezone)
            .join(c, c.c.id == v.c.contract_id)
            .where(v.c.site_id == site_id, v.c.status.in_(MUTABLE_STATUSES), v.c.window_end > now)
            .order_by(v.c.due_at, v.c.id)
        )
        by_timezone: dict[str, list[uuid.UUID]] = {}
        for row in rows:
            by_timezone.setdefault(row.timezone, []).append(row.id)
        return by_timezone

    async def list_visits(
        self, contract_id: uuid.UUID, since: datetime | None, until: datetime | None, status: str | None
    ) -> list[VisitRow]:
        v = t.planned_visits
        query = select(v).where(v.c.contract_id == contract_id)
        if since is not None:
            query = query.where(v.c.window_end > since)
        if until is not None:
            query = query.where(v.c.window_start < until)
        if status is not None:
            query = query.where(v.c.status == status)
        return [_visit(r) for r in await self.session.execute(query.order_by(v.c.due_at, v.c.id))]

    async def calendar_visits(
        self,
        page: Page,
        since: datetime,
        until: datetime,
        status: str | None,
        customer_id: uuid.UUID | None,
        contract_id: uuid.UUID | None = None,
    ) -> list[tuple[VisitRow, str, str]]:
        """A page of every contract's visits due in [since, until), each with its customer's and site's names."""
        v = t.planned_visits
        query = (
            select(v, t.customers.c.name.label("customer_name"), t.sites.c.name.label("site_name"))
            .join(t.customers, t.customers.c.id == v.c.customer_id)
            .join(t.sites, t.sites.c.id == v.c.site_id)
            .where(v.c.due_at >= since, v.c.due_at < until)
            .order_by(v.c.due_at, v.c.id)
        )
        if status is not None:
            query = query.where(v.c.status == status)
        if customer_id is not None:
            query = query.where(v.c.customer_id == customer_id)
        if contract_id is not None:
            query = query.where(v.c.contract_id == contract_id)
        rows = await self.session.execute(page.of(query))
        return [(_visit(r), r.customer_name, r.site_name) for r in rows]

    async def unfinished_work(self, contract_id: uuid.UUID) -> list[VisitRow]:
        """Failed visits whose work has not yet been handed to a later visit, oldest first."""
        v = t.planned_visits
        rows = await self.session.execute(
            select(v)
            .where(v.c.contract_id == contract_id, v.c.status == "failed", v.c.carried_into.is_(None))
            .order_by(v.c.occurrence_at)
        )
        return [_visit(r) for r in rows]

    async def next_visits_after(self, failed: list[VisitRow]) -> dict[uuid.UUID, VisitRow]:
        """For each failed visit (by id), the next visit of its schedule not yet under way, where there is one."""
        if not failed:
            return {}
        rows = await self.session.execute(
            _NEXT_VISITS_AFTER,
            {
                "failed_ids": [f.id for f in failed],
                "schedule_ids": [f.schedule_id for f in failed],
                "since": [f.occurrence_at for f in failed],
                "mutable": list(MUTABLE_STATUSES),
            },
        )
        return {row.failed_id: _visit(row) for row in rows}

    async def hand_over_work(self, handovers: list[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
        """(failed visit, visit taking its work, the work): in order, so a later hand-over into a visit wins."""
        if not handovers:
            return
        v = t.planned_visits
        await self.session.execute(
            update(v).where(v.c.id == bindparam("b_id")).values(carried_into=bindparam("b_into")),
            [{"b_id": failed, "b_into": into} for failed, into, _ in handovers],
        )
        latest = {into: (failed, work) for failed, into, work in handovers}
        await self.session.execute(
            update(v)
            .where(v.c.id == bindparam("b_id"))
            .values(carried_over_from=bindparam("b_from"), carried_work=bindparam("b_work")),
            [{"b_id": into, "b_from": failed, "b_work": work} for into, (failed, work) in latest.items()],
        )

    async def visit_counts(self, contract_id: uuid.UUID, now: datetime) -> VisitCounts:
        v = t.planned_visits
        open_ = v.c.status.in_(OPEN_STATUSES)
        row = (
            await self.session.execute(
                select(
                    func.count().filter(and_(v.c.window_start <= now, v.c.status != "cancelled")).label("due"),
                    func.count().filter(v.c.status == "done").label("done"),
                    func.count().filter(and_(open_, v.c.window_end <= now)).label("overdue"),
                    func.count().filter(v.c.status == "failed").label("failed"),
                    func.count().filter(and_(open_, v.c.window_end > now)).label("open"),
                    func.count().filter(v.c.status == "cancelled").label("cancelled"),
                ).where(v.c.contract_id == contract_id)
            )
        ).one()
        return VisitCounts(**{k: int(n) for k, n in row._mapping.items()})
