"""Plans: the versions of each day's plan, the day's planner lock, and the queue of days waiting for a re-plan."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from services.dispatch.db import tables as t
from services.dispatch.db.common import SessionRepository
from services.dispatch.domain.records import PlanFailureRecord, PlanRecord, ProposalRecord
from shared.db import record, records, values_of

# One plan at a time, whatever its day, across replicas: a visit whose window spans days is open to each of those
# days' plans, and two of them made at once both booked it (the later day's, quicker, won and took a morning's
# visits off today). Days are planned in order, so the earliest day a visit fits gets it.
PLANNER_LOCK = "dispatch-plan"


class PlanRepository(SessionRepository):
    async def latest_plan(self, day: date) -> PlanRecord | None:
        p = t.plans
        row = (
            await self.session.execute(select(p).where(p.c.day == day).order_by(p.c.version.desc()).limit(1))
        ).first()
        return record(PlanRecord, row) if row else None

    async def add_plan(self, values: dict[str, Any]) -> int:
        """Stores the next version of the day's plan; versions only grow (the unique key backs it)."""
        p = t.plans
        version = (
            await self.session.execute(
                select(func.coalesce(func.max(p.c.version), 0) + 1).where(p.c.day == values["day"])
            )
        ).scalar_one()
        await self.session.execute(insert(p).values(**values, version=version))
        return int(version)

    async def add_proposal(self, proposal: ProposalRecord, keep_decided_until: datetime) -> None:
        """Stores a proposal; proposals decided or expired before ``keep_decided_until`` are let go."""
        pp = t.plan_proposals
        await self.session.execute(delete(pp).where(pp.c.expires_at < keep_decided_until))
        await self.session.execute(insert(pp).values(**values_of(proposal)))

    async def proposal(self, proposal_id: uuid.UUID, *, for_update: bool = False) -> ProposalRecord | None:
        query = select(t.plan_proposals).where(t.plan_proposals.c.id == proposal_id)
        row = (await self.session.execute(query.with_for_update() if for_update else query)).first()
        return record(ProposalRecord, row) if row else None

    async def decide_proposal(
        self, proposal_id: uuid.UUID, decision: str, at: datetime, plan_version: int | None = None
    ) -> None:
        pp = t.plan_proposals
        await self.session.execute(
            update(pp).where(pp.c.id == proposal_id).values(decision=decision, decided_at=at, plan_version=plan_version)
        )

    async def wait_plan_lock(self, wait_s: float) -> bool:
        """The planner lock, waiting up to `wait_s` for a run that holds it (a dispatcher's re-plan queues behind an
        automatic one instead of failing); False if it is still held then."""
        await self.session.execute(text(f"SET LOCAL lock_timeout = {max(1, int(wait_s * 1000))}"))
        try:
            async with self.session.begin_nested():
                await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(PLANNER_LOCK))))
        except DBAPIError as exc:
            cause = exc.orig.__cause__ if exc.orig is not None else None
            if getattr(exc.orig, "sqlstate", None) != "55P03" and getattr(cause, "sqlstate", None) != "55P03":
                raise  # anything but lock_not_available
            return False
        finally:
            await self.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
        return True

    async def try_plan_lock(self) -> bool:
        """The planner lock, held until the transaction ends: one plan at a time, whatever its day."""
        return bool(
            (await self.session.execute(select(func.pg_try_advisory_xact_lock(func.hashtext(PLANNER_LOCK))))).scalar()
        )

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

    async def record_plan_failure(self, day: date, at: datetime, reason: str) -> int:
        """The day's failure alert, raised or renewed; returns how many runs in a row failed."""
        f = t.plan_failures
        statement = (
            pg_insert(f)
            .values(day=day, failed_at=at, reason=reason, attempts=1)
            .on_conflict_do_update(
                index_elements=[f.c.day], set_={"failed_at": at, "reason": reason, "attempts": f.c.attempts + 1}
            )
            .returning(f.c.attempts)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def clear_plan_failure(self, day: date) -> None:
        await self.session.execute(delete(t.plan_failures).where(t.plan_failures.c.day == day))

    async def plan_failures(self) -> list[PlanFailureRecord]:
        f = t.plan_failures
        return records(PlanFailureRecord, await self.session.execute(select(f).order_by(f.c.day)))
