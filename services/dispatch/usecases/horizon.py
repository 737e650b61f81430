"""Planning the horizon jointly: today and the next ``plan_horizon_days`` days as one problem, persisted per day.

Each day is snapshot as a day's re-plan takes it (today with its live constraints: now, positions, started
work), the snapshots are joined into one multi-day problem (planning/horizon.py) so that work with windows or
tolerance over several days goes on its best day, and the joint plan is cut back into one plan version per day,
persisted as a day's re-plan persists it. Work booked on a day stays on that day (its customer has been told):
only work nobody is booked for chooses its day, and a later re-plan of one day leaves the other days as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.dispatch.db.repository import DispatchRepository
from services.dispatch.planning import Plan, PlanningOptions, PlanningProblem, SolveStatus
from services.dispatch.planning.horizon import join_days, split_plan
from services.dispatch.usecases.replanning import (
    KEEP_ROUNDS,
    NoPlanFound,
    PlanningBusy,
    Replanner,
    Snapshot,
    StaleSnapshot,
)
from shared.db import Database
from shared.metrics import observe_planner_run

log = logging.getLogger(__name__)


@dataclass
class HorizonPlan:
    """The days' snapshots and each day's cut of the joint plan."""

    snapshots: list[Snapshot]
    plans: list[Plan]


class HorizonPlanner:
    def __init__(self, replanner: Replanner) -> None:
        self.replanner = replanner
        self.settings = replanner.settings

    def days(self) -> list[date]:
        """Today and the next ``plan_horizon_days`` days."""
        today = self.replanner.today()
        return [today + timedelta(days=k) for k in range(self.settings.plan_horizon_days + 1)]

    @observe_planner_run
    async def plan(self, db: Database, reason: str = "scheduled planning of the horizon") -> list[dict[str, Any]]:
        """Plans the horizon now and persists a plan version per day; raises PlanningBusy if another run holds the
        planner lock, StaleSnapshot if bookings changed meanwhile. Queued re-plans of these days are answered."""
        days = self.days()
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            if not await repo.try_plan_lock():
                raise PlanningBusy.planning(days[0])
            pending = await repo.pending_replans()
            joint = await self.plan_days(repo, days)
            results = []
            try:
                for snapshot, plan in zip(joint.snapshots, joint.plans, strict=True):
                    results.append(await self.replanner.persist(session, repo, snapshot, plan, reason))
            except IntegrityError as exc:
                raise StaleSnapshot(f"a booking collided: {exc.orig}") from exc
            for day in days:
                if day in pending:
                    await repo.clear_replans(day, pending[day][0])
                await repo.clear_plan_failure(day)
        return results

    async def scheduled(self, db: Database) -> None:
        """The scheduled planning: the horizon jointly; if that can't be done now (another run holds the lock, a
        booking raced, no plan found) or the policy is the nearest-technician baseline, each day is queued for a
        day's re-plan, as before the joint planning."""
        if self.settings.policy == "fieldline":
            try:
                await self.plan(db)
                return
            except (PlanningBusy, StaleSnapshot) as exc:
                log.info("horizon plan deferred to the days' re-plans: %s", exc)
            except Exception as exc:  # the days still get planned, one by one
                log.error("horizon plan failed; the days are queued for re-plans: %s", exc, exc_info=exc)
        async with db.transaction() as session:
            repo = DispatchRepository(session)
            for day in self.days():
                await repo.request_replan(day, "scheduled planning")

    async def plan_days(self, repo: DispatchRepository, days: list[date]) -> HorizonPlan:
        """The joint plan of ``days`` (the caller holds the planner lock). As a day's re-plan does: promises no plan
        can keep are lifted, and bookings that must stay but can't be routed are kept as booked, outside it."""
        kept: dict[date, frozenset[str]] = {day: frozenset() for day in days}
        for _ in range(KEEP_ROUNDS):
            snapshots = [await self.replanner.snapshot(repo, day, kept[day]) for day in days]
            joint = await self._solve(snapshots, [s.problem for s in snapshots])
            left_out = {u.visit_id for plan in joint.plans for u in plan.unassigned}
            broken = [left_out & set(s.relaxed) for s in snapshots]
            if any(broken):
                log.warning("horizon plan: promised ETAs of %s can't be kept", sorted(set().union(*broken)))
                lifted = [s.without_promises(b) if b else s.problem for s, b in zip(snapshots, broken, strict=True)]
                joint = await self._solve(snapshots, lifted)
            dropped = {
                s.day: {u.visit_id for u in p.unassigned} & s.keep
                for s, p in zip(joint.snapshots, joint.plans, strict=True)
            }
            if not any(dropped.values()):
                break
            for day, visits in dropped.items():
                kept[day] |= visits
            log.info("horizon plan: %s kept as booked, outside the plan", sorted(set().union(*dropped.values())))
        if joint.plans and joint.plans[0].status in (SolveStatus.NO_SOLUTION, SolveStatus.INVALID):
            if any(s.problem.visits for s in joint.snapshots):
                raise NoPlanFound(
                    f"the planner found no plan for {days[0].isoformat()}..{days[-1].isoformat()}"
                    f" (status {joint.plans[0].status.value}); the days' bookings stand as they are"
                )
        return joint

    async def _solve(self, snapshots: list[Snapshot], problems: list[PlanningProblem]) -> HorizonPlan:
        origin = snapshots[0].origin
        offsets = [(s.origin - origin).total_seconds() for s in snapshots]
        # the time the days planned one by one would take, for one problem of them all
        options = PlanningOptions(time_limit=self.settings.planner_time_limit_s * len(snapshots))
        plan = await self.replanner.solve(join_days(problems, offsets), options)
        return HorizonPlan(snapshots, split_plan(plan, problems, offsets, options))
