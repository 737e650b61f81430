"""The nearest-qualified-technician baseline (planning/nearest.py): a dispatcher without an optimiser."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.dispatch.domain.placement import Candidate, Decision, Job, Option
from services.dispatch.planning import BreakRule, PlanningOptions, PlanningProblem, Priority, TimeWindow
from services.dispatch.planning.model import Pin, UnassignedReason
from services.dispatch.planning.nearest import NearestQualified, plan_nearest
from tests.planning.helpers import GridTravel, H, M, at, day_shift, tech, visit

OPTIONS = PlanningOptions(time_limit=1.0)


def _routes(problem: PlanningProblem) -> dict[str, list[str]]:
    plan = plan_nearest(problem, GridTravel(), OPTIONS)
    return {r.technician_id: [s.visit_id for s in r.stops] for r in plan.routes}


def test_each_job_goes_to_the_nearest_qualified_technician() -> None:
    problem = PlanningProblem(
        technicians=(tech("west", at(0)), tech("east", at(100), skills={"gas": 1})),
        visits=(
            visit("near-west", at(5)),
            visit("near-east", at(95)),
            visit("gas-west", at(10), required_skills={"gas": 1}),
        ),
    )
    routes = _routes(problem)
    assert routes["west"] == ["near-west"]
    assert sorted(routes["east"]) == ["gas-west", "near-east"]  # only east is certified for gas


def test_earliest_deadline_first_and_a_full_day_passes_the_job_on() -> None:
    morning = (TimeWindow(8 * H, 9 * H),)
    problem = PlanningProblem(
        technicians=(tech("a", at(0), day_shift(end=11 * H)), tech("b", at(30), day_shift(end=11 * H))),
        visits=(
            visit("long", at(1), service=2 * H, windows=morning),
            visit("urgent", at(2), windows=morning, priority=Priority.P1),
            visit("later", at(1), service=2 * H),
        ),
    )
    plan = plan_nearest(problem, GridTravel(), OPTIONS)
    routes = {r.technician_id: [s.visit_id for s in r.stops] for r in plan.routes}
    # same deadline: the P1 first; a's day then has no room for "later", so the next nearest takes it
    assert routes == {"a": ["urgent", "long"], "b": ["later"]}
    for route in plan.routes:
        assert all(stop.departure <= 11 * H for stop in route.stops)  # these shifts allow no overtime
    assert plan.kpis.assigned + plan.kpis.unassigned == 3


def test_lunch_is_taken_before_a_job_that_would_run_past_its_latest_start() -> None:
    lunch = BreakRule(duration=30 * M, earliest_start=12 * H, latest_start=13 * H)
    problem = PlanningProblem(
        technicians=(tech("a", at(0), day_shift(breaks=(lunch,))),),
        visits=(
            visit("morning", at(1), service=3 * H, windows=(TimeWindow(9 * H, 9 * H),)),
            visit("noon", at(2), service=2 * H, windows=(TimeWindow(12 * H, 15 * H),)),
        ),
    )
    plan = plan_nearest(problem, GridTravel(), OPTIONS)
    (route,) = plan.routes
    (lunch_taken,) = route.breaks
    noon = next(s for s in route.stops if s.visit_id == "noon")
    assert 12 * H <= lunch_taken.start <= 13 * H
    assert noon.start >= lunch_taken.end


def test_nobody_qualified_or_in_time_is_reported_not_forced() -> None:
    problem = PlanningProblem(
        technicians=(tech("a", at(0)),),
        visits=(
            visit("gas", at(1), required_skills={"gas": 1}),
            visit("too-far", at(600), windows=(TimeWindow(8 * H, 9 * H),)),
        ),
    )
    plan = plan_nearest(problem, GridTravel(), OPTIONS)
    reasons = {u.visit_id: u.reason for u in plan.unassigned}
    assert reasons == {
        "gas": UnassignedReason.NO_SKILLED_TECHNICIAN,
        "too-far": UnassignedReason.NO_TIME_LEFT,
    }


def test_pinned_visits_stay_with_their_technician_first() -> None:
    problem = PlanningProblem(
        technicians=(tech("a", at(0)), tech("b", at(50))),
        visits=(visit("started", at(49)), visit("other", at(51))),
        pins=(Pin("started", "a", 0, position=0, frozen=True),),
    )
    routes = _routes(problem)
    assert routes["a"][0] == "started"
    assert routes["b"] == ["other"]


NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _candidate(distance_m: float) -> Candidate:
    return Candidate(uuid.uuid4(), "T", {}, 45.0, 34.0, 45.0, 34.0, distance_m, 1, NOW + timedelta(hours=8))


class _OnlyFrom:
    """A stand-in insertion: the candidates in `in_time` can make the SLA, every other one only late."""

    def __init__(self, in_time: set[uuid.UUID]) -> None:
        self.in_time = in_time

    def decide(self, job: Job, candidates: Sequence[Candidate], now: datetime) -> Decision:
        (c,) = candidates
        option = Option(
            c.technician_id, c.first_name, 1, now, now, now + timedelta(hours=1), c.technician_id in self.in_time
        )
        return Decision(option, None, "") if option.meets_sla else Decision(None, option, "late")


def test_an_emergency_goes_to_the_nearest_candidate_who_can_make_it() -> None:
    near, middle, far = _candidate(1_000), _candidate(5_000), _candidate(9_000)
    job = Job(uuid.uuid4(), 45.0, 34.0, 60, NOW + timedelta(hours=2))
    rule = NearestQualified(_OnlyFrom({middle.technician_id, far.technician_id}))
    decision = rule.decide(job, [far, near, middle], NOW)
    assert decision.best is not None and decision.best.technician_id == middle.technician_id

    nobody = NearestQualified(_OnlyFrom(set())).decide(job, [far, near, middle], NOW)
    assert nobody.best is None and nobody.best_late is not None
    assert nobody.best_late.technician_id == near.technician_id
