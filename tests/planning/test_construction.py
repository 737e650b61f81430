"""Our constructor and ruin-and-recreate: feasible on small days, exact insertion costs, warm starts OR-Tools."""

from __future__ import annotations

import dataclasses
import random

import numpy as np

from bench.fieldday.generator import field_day
from services.dispatch.planning import (
    BreakRule,
    PlanningOptions,
    PlanningProblem,
    Priority,
    SolveStatus,
    TimeWindow,
    plan_routes,
)
from services.dispatch.planning.construction import (
    RouteEvaluator,
    Solution,
    objective,
    regret_insertion,
    ruin_and_recreate,
)
from services.dispatch.planning.instance import RoutingInstance, build_instance
from services.dispatch.planning.ortools_model import solve_instance
from services.dispatch.planning.solver import to_plan

from .helpers import GridTravel, H, M, at, day_shift, tech, visit

LUNCH = BreakRule(duration=30 * M, earliest_start=12 * H, latest_start=13 * H)
OPTIONS = PlanningOptions(time_limit=0.5)


def random_day(seed: int, technicians: int = 3, visits: int = 25, lunch: bool = True) -> PlanningProblem:
    rng = random.Random(seed)
    shift = day_shift(breaks=(LUNCH,) if lunch else (), overtime_limit=H if seed % 2 else 0.0)
    techs = tuple(
        tech(f"t{k}", at(rng.uniform(0, 30), rng.uniform(0, 30)), shift, skills={"gas": rng.choice([0, 1])})
        for k in range(technicians)
    )
    jobs = []
    for k in range(visits):
        kind = rng.random()
        if kind < 0.4:
            start = rng.uniform(8, 14) * H
            windows: tuple[TimeWindow, ...] = (TimeWindow(start, start + rng.choice([1, 2, 4]) * H),)
        elif kind < 0.7:
            windows = (TimeWindow(8 * H, 10 * H), TimeWindow(14 * H, 16 * H))
        else:
            windows = ()
        jobs.append(
            visit(
                f"v{k}",
                at(rng.uniform(0, 30), rng.uniform(0, 30)),
                service=rng.choice([20, 30, 60]) * M,
                windows=windows,
                required_skills={"gas": 1} if rng.random() < 0.2 else {},
                priority=rng.choice(list(Priority)),
                sla_deadline=11 * H if rng.random() < 0.2 else None,
                demand=rng.choice([0, 1, 2]),
            )
        )
    return PlanningProblem(techs, tuple(jobs))


def setup(problem: PlanningProblem) -> tuple[RoutingInstance, RouteEvaluator]:
    instance = build_instance(problem, GridTravel())
    return instance, RouteEvaluator(instance, OPTIONS)


def assert_feasible(instance: RoutingInstance, evaluator: RouteEvaluator, solution: Solution) -> None:
    served = [k for route in solution.routes for k in route]
    assert len(served) == len(set(served))
    for v, route in enumerate(solution.routes):
        if route:
            ok, _ = evaluator.evaluate(v, np.asarray([route]))
            assert ok[0]
            assert all(v in instance.allowed[k] for k in route)


def test_insertion_costs_match_whole_route_evaluation() -> None:
    for seed in range(6):
        instance, evaluator = setup(random_day(seed, lunch=seed % 3 != 0))
        solution = regret_insertion(evaluator)
        rng = np.random.default_rng(seed)
        for v, route in enumerate(solution.routes):
            others = np.asarray([k for k in range(len(instance.visits)) if k not in route])
            candidates = rng.choice(others, min(8, len(others)), replace=False)
            extra, _ = evaluator.insertions(v, route, candidates)
            now = evaluator.route_cost(v, route)
            for k, got in zip(candidates, extra, strict=True):
                rows = np.asarray([[*route[:p], int(k), *route[p:]] for p in range(len(route) + 1)])
                _, cost = evaluator.evaluate(v, rows)
                assert np.isclose(cost.min() - now, got) or (cost.min() == np.inf and got == np.inf)


def test_regret_insertion_is_feasible_and_respects_skills_windows_and_breaks() -> None:
    for seed in range(4):
        problem = random_day(seed)
        instance, evaluator = setup(problem)
        solution = regret_insertion(evaluator)
        assert_feasible(instance, evaluator, solution)
        assert sum(map(len, solution.routes)) > len(problem.visits) // 2
        plan = to_plan(instance, evaluator.raw_solution(solution), OPTIONS, 0.0)
        visits = {v.id: v for v in problem.visits}
        techs = {t.id: t for t in problem.technicians}
        for route in plan.routes:
            assert len(route.breaks) == 1
            brk = route.breaks[0]
            assert LUNCH.earliest_start <= brk.start <= LUNCH.latest_start
            for stop in route.stops:
                v = visits[stop.visit_id]
                assert all(techs[route.technician_id].skills.get(s, -1) >= lvl for s, lvl in v.required_skills.items())
                assert not v.windows or any(w.start <= stop.start <= w.end for w in v.windows)
                assert stop.departure <= brk.start or stop.start >= brk.end


def test_a_skill_nobody_has_leaves_the_visit_out() -> None:
    problem = PlanningProblem((tech("a", at(0)),), (visit("x", at(3), required_skills={"gas": 1}), visit("y", at(4))))
    _, evaluator = setup(problem)
    solution = regret_insertion(evaluator)
    assert solution.routes == [[1]]


def test_lunch_pushes_a_visit_past_a_window_that_closes_during_it() -> None:
    fixed = BreakRule(duration=60 * M, earliest_start=12 * H, latest_start=12 * H)
    after_noon = visit("x", at(10), service=30 * M, windows=(TimeWindow(12 * H + 30 * M, 12 * H + 45 * M),))
    _, evaluator = setup(PlanningProblem((tech("a", at(0), day_shift(breaks=(fixed,))),), (after_noon,)))
    assert regret_insertion(evaluator).routes == [[]]
    _, evaluator = setup(PlanningProblem((tech("a", at(0)),), (after_noon,)))
    assert regret_insertion(evaluator).routes == [[0]]


def test_construction_stops_at_its_time_limit_with_a_partial_feasible_plan() -> None:
    _, evaluator = setup(random_day(2, technicians=4, visits=40))
    assert regret_insertion(evaluator, time_limit=0.0).routes == [[], [], [], []]
    plan = plan_routes(random_day(2, technicians=4, visits=40), GridTravel(), PlanningOptions(time_limit=0.2))
    assert plan.kpis.wall_time < 1.0 and plan.kpis.assigned + plan.kpis.unassigned == 40


def test_ruin_and_recreate_never_returns_worse_and_stays_feasible() -> None:
    instance, evaluator = setup(random_day(7, technicians=4, visits=40))
    start = regret_insertion(evaluator)
    improved = ruin_and_recreate(evaluator, start.copy(), time_limit=0.5, seed=1)
    assert objective(evaluator, improved) <= objective(evaluator, start)
    assert_feasible(instance, evaluator, improved)


def test_opening_routes_on_idle_technicians_keeps_the_plan_feasible() -> None:
    instance, evaluator = setup(random_day(9, technicians=6, visits=30))
    start = regret_insertion(evaluator)
    improved = ruin_and_recreate(evaluator, start.copy(), time_limit=0.3, seed=2, open_routes=1.0)
    assert objective(evaluator, improved) <= objective(evaluator, start)
    assert_feasible(instance, evaluator, improved)


def test_the_constructed_plan_warm_starts_the_routing_model() -> None:
    instance, evaluator = setup(random_day(3))
    solution = regret_insertion(evaluator)
    warm = dataclasses.replace(instance, initial_routes=tuple(tuple(r) for r in solution.routes))
    raw = solve_instance(warm, OPTIONS, 0.5, require_warm_start=True)
    assert raw.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    # Same objective terms in the same ticks: the model starts from ours and only improves on it.
    assert raw.objective <= objective(evaluator, solution)


def test_decomposed_path_plans_a_day_above_the_threshold() -> None:
    problem = random_day(5, technicians=5, visits=40)
    options = PlanningOptions(time_limit=3.0, decomposition_threshold=10, subproblem_visits=15)
    plan = plan_routes(problem, GridTravel(), options)
    assert plan.status == SolveStatus.FEASIBLE
    assert plan.kpis.assigned + plan.kpis.unassigned == 40 and plan.kpis.assigned >= 20
    seen = [s.visit_id for r in plan.routes for s in r.stops]
    assert len(seen) == len(set(seen))


def test_field_day_generator_is_seeded() -> None:
    assert field_day(10, 50, seed=3) == field_day(10, 50, seed=3)
    assert field_day(10, 50, seed=3) != field_day(10, 50, seed=4)
