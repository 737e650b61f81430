"""Re-plans the dispatcher reads before they apply: propose (plan the day and keep the result, nothing booked),
accept (apply exactly that plan, while the day's bookings are still as the planner saw them), discard.

Automatic re-plans go on meanwhile: a proposal whose day moved on is refused with the reason, and the
dispatcher asks for a new one. Proposals live for PROPOSAL_TTL; what the day looked like an hour ago is no plan.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.domain.records import ProposalRecord
from services.dispatch.planning.codec import plan_from_json, plan_to_json
from services.dispatch.usecases.replanning import (
    PlanningBusy,
    Replanner,
    StaleSnapshot,
    change_json,
    promises_released,
    unassigned_json,
)
from shared.db import Database
from shared.errors import Conflict, NotFound

PROPOSAL_TTL = timedelta(minutes=10)
KEEP_DECIDED = timedelta(days=1)


class ProposalClosed(Conflict):
    """Accepted, discarded or expired: nothing more can be done with it."""


class DayMovedOn(Conflict):
    """The day's bookings changed after the proposal was made: its plan would undo or collide with that."""


def fingerprint_json(fingerprint: dict[uuid.UUID, tuple[Any, ...]]) -> dict[str, list[Any]]:
    """A snapshot's bookings fingerprint as JSON (what is compared at acceptance)."""
    return {
        str(assignment_id): [str(technician_id), planned_start.isoformat(), started, locked]
        for assignment_id, (technician_id, planned_start, started, locked) in fingerprint.items()
    }


class PlanProposals:
    def __init__(self, replanner: Replanner) -> None:
        self.replanner = replanner
        self.clock = replanner.clock

    async def propose(
        self,
        db: Database,
        day: date,
        reason: str,
        by: str,
        change_budget: int | None = None,
        release_promises: bool = False,
    ) -> dict[str, Any]:
        """`release_promises`: the plan may retime told arrivals beyond the tolerance (its reason says who let it)."""
        self.replanner.check_day(day)
        budget = self.replanner.settings.change_budget if change_budget is None else change_budget
        if release_promises:
            reason = promises_released(reason, day, by)
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            if not await repo.wait_plan_lock(self.replanner.dispatcher_wait_s):
                raise PlanningBusy.planning(day)
            snap, plan, kept = await self.replanner.plan_day(repo, day, budget, release_promises)
            diff = await self.replanner.diff(repo, snap, plan, reason)
            latest = await repo.latest_plan(day)
            now = self.clock()
            proposal = ProposalRecord(
                id=uuid.uuid4(),
                day=day,
                reason=reason,
                created_by=by,
                created_at=now,
                expires_at=now + PROPOSAL_TTL,
                based_on_version=latest.version if latest else None,
                change_budget=budget,
                fingerprint=fingerprint_json(snap.fingerprint),
                kept=sorted(kept),
                plan=plan_to_json(plan),
                changes=[change_json(c) for c in diff.changes],
                unassigned=unassigned_json(plan, snap),
                kpis=diff.kpis,
            )
            await repo.add_proposal(proposal, now - KEEP_DECIDED)
        return self.view(proposal)

    async def get(self, db: Database, day: date, proposal_id: uuid.UUID) -> dict[str, Any]:
        async with db.transaction() as session:
            row = await DispatchRepository(session).proposal(proposal_id)
        if row is None or row.day != day:
            raise NotFound("proposal not found")
        return self.view(row)

    async def accept(self, db: Database, day: date, proposal_id: uuid.UUID, by: str) -> dict[str, Any]:
        """Applies the proposal's plan as the day's next version (as a re-plan would, with its notices)."""
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            row = await self._open(repo, day, proposal_id)
            if not await repo.wait_plan_lock(self.replanner.dispatcher_wait_s):
                raise PlanningBusy.planning(day)
            snap = await self.replanner.snapshot(repo, day, frozenset(row.kept), row.change_budget)
            plan = plan_from_json(row.plan)
            now_booked = fingerprint_json(snap.fingerprint)
            gone = {s.visit_id for r in plan.routes for s in r.stops} - {str(rid) for rid in snap.jobs}
            if now_booked != row.fingerprint or gone:
                changed = {
                    k for k in now_booked.keys() | row.fingerprint.keys() if now_booked.get(k) != row.fingerprint.get(k)
                }
                raise DayMovedOn(
                    f"the day changed after this proposal ({len(changed)} bookings changed, {len(gone)} jobs closed):"
                    " ask for a new one"
                )
            try:
                result = await self.replanner.persist(session, repo, snap, plan, f"{row.reason} (accepted by {by})")
            except IntegrityError as exc:
                raise StaleSnapshot(f"a booking collided: {exc.orig}") from exc
            await repo.decide_proposal(proposal_id, "accepted", self.clock(), result["version"])
            await repo.clear_plan_failure(day)
        return result

    async def discard(self, db: Database, day: date, proposal_id: uuid.UUID) -> None:
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            await self._open(repo, day, proposal_id)
            await repo.decide_proposal(proposal_id, "discarded", self.clock())

    async def _open(self, repo: DispatchRepository, day: date, proposal_id: uuid.UUID) -> ProposalRecord:
        row = await repo.proposal(proposal_id, for_update=True)
        if row is None or row.day != day:
            raise NotFound("proposal not found")
        if row.decision:
            raise ProposalClosed(f"this proposal was already {row.decision}")
        if self.clock() >= row.expires_at:
            raise ProposalClosed(f"this proposal expired at {row.expires_at.isoformat()}: ask for a new one")
        return row

    def view(self, row: ProposalRecord) -> dict[str, Any]:
        now: datetime = self.clock()
        status = row.decision or ("expired" if now >= row.expires_at else "open")
        counts = Counter(c["kind"] for c in row.changes)
        return {
            "id": row.id,
            "day": row.day,
            "reason": row.reason,
            "created_by": row.created_by,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
            "status": status,
            "based_on_version": row.based_on_version,
            "plan_version": row.plan_version,
            "change_budget": row.change_budget,
            "counts": {kind: counts.get(kind, 0) for kind in ("added", "moved", "retimed", "dropped")},
            "changes": row.changes,
            "unassigned": row.unassigned,
            "kpis": row.kpis,
        }
