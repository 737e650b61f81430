"""The compiled search against whole-route evaluation in numpy, on plain VRPTW days and on days with breaks,
SLA deadlines and overtime."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from services.dispatch.planning import PlanningProblem, Shift, TimeWindow, search
from services.dispatch.planning import compiled_search as kernels
from services.dispatch.planning.numpy_search import numpy_regret_insertion, numpy_ruin_and_recreate
from services.dispatch.planning.route_evaluator import RouteEvaluator, Solution, objective
from services.dispatch.planning.search import CompiledState, compile_search, regret_insertion, ruin_and_recreate

from .helpers import H, M, at, tech, visit
from .test_construction import assert_feasible, priced, random_day, setup


@pytest.fixture(autouse=True, scope="module")
def compiled() -> None:
    """On a fresh clone the first call compiles the kernels (seconds): not inside a search's time limit."""
    compile_search()


def simple_day(seed: int, technicians: int = 4, visits: int = 40) -> PlanningProblem:
    """Windows (one or two), skills, capacity and a travel cap; no breaks, SLAs or overtime."""
    rng = random.Random(seed)
    techs = tuple(
        tech(
            f"t{k}",
            at(rng.uniform(0, 30), rng.uniform(0, 30)),
            Shift(day=0, start=8 * H, end=rng.choice([13, 17]) * H, max_travel=rng.choice([None, 3 * H])),
            skills={"gas": rng.choice([0, 1])},
            capacity=rng.choice([None, 6]),
        )
        for k in range(technicians)
    )
    jobs = []
    for k in range(visits):
        kind = rng.random()
        if kind < 0.5:
            start = rng.uniform(8, 15) * H
            windows: tuple[TimeWindow, ...] = (TimeWindow(start, start + rng.choice([1, 2]) * H),)
        elif kind < 0.8:
            windows = (TimeWindow(8 * H, 10 * H), TimeWindow(13 * H, 15 * H))
        else:
            windows = ()
        jobs.append(
            visit(
                f"v{k}",
                at(rng.uniform(0, 30), rng.uniform(0, 30)),
                service=rng.choice([15, 30]) * M,
                windows=windows,
                required_skills={"gas": 1} if rng.random() < 0.2 else {},
                demand=rng.choice([0, 1, 2]),
            )
        )
    return PlanningProblem(techs, tuple(jobs))


def cheapest_by_whole_route(evaluator: RouteEvaluator, vehicle: int, route: list[int], k: int) -> float:
    rows = np.asarray([[*route[:p], k, *route[p:]] for p in range(len(route) + 1)])
    ok, cost = evaluator.evaluate(vehicle, rows)
    return float(np.where(ok, cost, np.inf).min()) - evaluator.route_cost(vehicle, route)


@pytest.mark.parametrize("day", ["simple", "lunch, SLAs, overtime", "SLAs only", "priced per visit and technician"])
def test_compiled_insertion_costs_match_whole_route_evaluation(day: str) -> None:
    checked = 0
    for seed in range(5):
        problem = {
            "simple": simple_day(seed),
            "lunch, SLAs, overtime": random_day(seed),
            "SLAs only": random_day(seed, lunch=False),
            "priced per visit and technician": priced(random_day(seed), seed),
        }[day]
        instance, evaluator = setup(problem)
        # the O(1) test per position on plain days, the walk from the insertion point on the others
        assert (len(evaluator._simple) == len(instance.vehicles)) == (day == "simple")
        solution = regret_insertion(evaluator)
        state = CompiledState(evaluator, solution)
        for v, route in enumerate(solution.routes):
            for k in range(len(instance.visits)):
                if k in route or not evaluator.allowed[k, v]:
                    continue
                got, _ = kernels._best_insertion(state.day, state.plan, v, k)
                want = cheapest_by_whole_route(evaluator, v, route, k)
                assert np.isclose(got, want) or (got == np.inf and want == np.inf), (seed, v, k, got, want)
                checked += got < np.inf
    assert checked > 50, "the days leave room to insert"


@pytest.mark.parametrize("lunch", [False, True])
def test_compiled_regret_insertion_is_feasible_and_leaves_out_only_what_fits_nowhere(lunch: bool) -> None:
    for seed in range(4):
        day = random_day(seed, technicians=4, visits=60) if lunch else simple_day(seed, visits=60)
        instance, evaluator = setup(day)
        solution = regret_insertion(evaluator)
        assert_feasible(instance, evaluator, solution)
        assert solution.costs == [evaluator.route_cost(v, r) for v, r in enumerate(solution.routes)]
        served = {k for r in solution.routes for k in r}
        assert len(served) > 30
        for k in set(range(len(instance.visits))) - served:
            for v, route in enumerate(solution.routes):
                if evaluator.allowed[k, v]:
                    assert cheapest_by_whole_route(evaluator, v, route, k) == np.inf, (seed, k, v)


@pytest.mark.parametrize("lunch", [False, True])
def test_compiled_ruin_and_recreate_improves_and_stays_feasible(lunch: bool) -> None:
    for open_routes in (0.0, 1.0):
        day = random_day(11, technicians=6, visits=60) if lunch else simple_day(11, technicians=6, visits=60)
        instance, evaluator = setup(day)
        start = regret_insertion(evaluator)
        improved = ruin_and_recreate(
            evaluator, start.copy(), time_limit=0.3, seed=3, max_removed=10, threshold=0.05, open_routes=open_routes
        )
        assert objective(evaluator, improved) < objective(evaluator, start)
        assert_feasible(instance, evaluator, improved)
        assert improved.costs == [evaluator.route_cost(v, r) for v, r in enumerate(improved.routes)]


def test_compiled_ruin_and_recreate_puts_back_what_it_can_place() -> None:
    """Visits left out of a plan come back in when they fit: the search sees the penalties."""
    instance, evaluator = setup(simple_day(4, technicians=3, visits=30))
    full = regret_insertion(evaluator)
    partial = Solution([r[: len(r) // 2] for r in full.routes], [0.0] * len(full.routes))
    partial.costs = [evaluator.route_cost(v, r) for v, r in enumerate(partial.routes)]
    improved = ruin_and_recreate(evaluator, partial, time_limit=0.3, seed=5)
    assert sum(map(len, improved.routes)) >= sum(map(len, full.routes))
    assert_feasible(instance, evaluator, improved)


def test_very_large_days_fall_back_to_the_numpy_search(monkeypatch: pytest.MonkeyPatch) -> None:
    instance, evaluator = setup(random_day(11, technicians=6, visits=60))
    compiled_plan = regret_insertion(evaluator)
    ran: list[str] = []

    def spy(name: str, function: Callable[..., Solution]) -> None:
        def counted(*args: Any, **kwargs: Any) -> Solution:
            ran.append(name)
            return function(*args, **kwargs)

        monkeypatch.setattr(search, name, counted)

    spy("numpy_regret_insertion", numpy_regret_insertion)
    spy("numpy_ruin_and_recreate", numpy_ruin_and_recreate)
    monkeypatch.setattr(search, "COMPILED_MAX", 0)  # every day is "very large" now
    monkeypatch.setattr(search, "CompiledState", None)  # the compiled path would fail on this
    start = regret_insertion(evaluator)
    assert ran == ["numpy_regret_insertion"]
    assert start == compiled_plan  # the same moves as the compiled regret insertion: the same plan
    assert sum(map(len, start.routes)) > 30
    assert_feasible(instance, evaluator, start)
    improved = ruin_and_recreate(evaluator, start.copy(), time_limit=0.3, seed=3)
    assert ran == ["numpy_regret_insertion", "numpy_ruin_and_recreate"]
    assert objective(evaluator, improved) <= objective(evaluator, start)
    assert_feasible(instance, evaluator, improved)
    assert improved.costs == [evaluator.route_cost(v, r) for v, r in enumerate(improved.routes)]
