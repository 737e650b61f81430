"""The compiled search on re-plans: pins (technician, order, fixed start), frozen stops and the change budget,
held to the evaluator's statement of the rules (``RouteEvaluator.broken_rules``)."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import numpy as np
import pytest

from services.dispatch.planning import (
    Pin,
    PlanningOptions,
    PlanningProblem,
    RouteAssignment,
    TimeWindow,
    plan_routes,
    solver,
)
from services.dispatch.planning import search as search_module
from services.dispatch.planning.instance import build_instance
from services.dispatch.planning.replan_rules import promises_held_by_windows
from services.dispatch.planning.route_evaluator import RouteEvaluator, Solution
from services.dispatch.planning.search import CompiledState, compile_search, regret_insertion, ruin_and_recreate

from .helpers import GridTravel, H, M, at, tech, visit
from .test_construction import OPTIONS, random_day


@pytest.fixture(autouse=True, scope="module")
def compiled() -> None:
    """On a fresh clone the first call compiles the kernels (seconds): not inside a search's time limit."""
    compile_search()


def search(problem: PlanningProblem, seconds: float = 0.3, seed: int = 0) -> tuple[RouteEvaluator, Solution]:
    evaluator = RouteEvaluator(build_instance(problem, GridTravel()), OPTIONS)
    start = regret_insertion(evaluator)
    assert evaluator.broken_rules(start.routes) == []
    return evaluator, ruin_and_recreate(evaluator, start, seconds, seed=seed, max_removed=10, open_routes=0.2)


def ids(evaluator: RouteEvaluator, solution: Solution) -> dict[str, list[str]]:
    instance = evaluator.instance
    return {
        instance.vehicles[v].technician.id: [instance.visits[k].id for k in route]
        for v, route in enumerate(solution.routes)
    }


def replan_day(seed: int) -> PlanningProblem:
    """A random day (lunch, SLAs, overtime on odd seeds) planned once, then re-planned with a tenth of its visits
    new, frozen heads, pinned orders against the first plan's, fixed times and a change budget of one."""
    rng = random.Random(seed)
    day = random_day(seed, technicians=4, visits=40)
    evaluator = RouteEvaluator(build_instance(day, GridTravel()), OPTIONS)
    first = regret_insertion(evaluator)
    raw = evaluator.raw_solution(first)
    pins, previous = [], []
    for route in raw.routes:
        tid = evaluator.instance.vehicles[route.vehicle].technician.id
        names = [day.visits[k].id for k in route.visits]
        previous.append(RouteAssignment(tid, 0, tuple(names)))
        frozen = rng.randint(0, min(2, len(names)))
        for position, (name, start) in enumerate(zip(names[:frozen], route.service_starts, strict=False)):
            pins.append(Pin(name, tid, 0, position=position, start_time=float(start), frozen=True))
        rest = names[frozen:]
        if len(rest) >= 4:
            # two later visits pinned the other way round than the first plan had them
            a, b = rng.sample(rest, 2)
            later, earlier = (a, b) if rest.index(a) < rest.index(b) else (b, a)
            pins += [Pin(earlier, tid, 0, position=frozen), Pin(later, tid, 0, position=frozen + 1)]
    # a locked booking at a fixed time: the first plan's start of some unpinned visit, on another technician
    pinned = {p.visit_id for p in pins}
    loose = [(route, k) for route in raw.routes for k in route.visits if day.visits[k].id not in pinned]
    route, k = rng.choice(loose)
    other = evaluator.instance.vehicles[(route.vehicle + 1) % len(evaluator.instance.vehicles)].technician.id
    start = route.service_starts[route.visits.index(k)]
    pins.append(Pin(day.visits[k].id, other, 0, start_time=float(start) + 45 * M))
    new = random_day(seed + 100, technicians=1, visits=4).visits
    visits = day.visits + tuple(dataclasses.replace(v, id=f"new-{v.id}") for v in new)
    return PlanningProblem(day.technicians, visits, tuple(pins), tuple(previous), max_moves_per_route=1)


@pytest.mark.parametrize("seed", range(8))
def test_a_replan_keeps_pins_frozen_stops_and_the_change_budget(seed: int) -> None:
    problem = replan_day(seed)
    evaluator, solution = search(problem, seed=seed)
    assert evaluator.broken_rules(solution.routes) == []
    plan = ids(evaluator, solution)
    served = {name for route in plan.values() for name in route}
    for pin in problem.pins:
        if pin.visit_id in served:
            assert pin.visit_id in plan[pin.technician_id]
    # a frozen stop is never left out for more valuable work, and is served at its pinned time
    schedule = {
        evaluator.instance.visits[k].id: start * OPTIONS.time_resolution
        for v, route in enumerate(solution.routes)
        for k, start in zip(route, evaluator.schedule(v, route).service_starts, strict=True)
    }
    for pin in problem.pins:
        if pin.start_time is not None and pin.visit_id in schedule:
            assert schedule[pin.visit_id] == np.ceil(pin.start_time)
    assert {p.visit_id for p in problem.pins if p.frozen} <= served
    # the compiled bookkeeping of moves agrees with a recount
    state = CompiledState(evaluator, solution)
    assert state.plan.moved.tolist() == evaluator.rules.moves(solution.routes).tolist()


def test_a_frozen_stop_stays_at_the_head_though_later_would_be_cheaper() -> None:
    a = tech("a", at(0), end_location=at(40))
    visits = (visit("v1", at(10)), visit("started", at(30)), visit("v2", at(35)))
    free = ids(*search(PlanningProblem((a,), visits)))
    assert free["a"] == ["v1", "started", "v2"]
    pins = (Pin("started", "a", 0, position=0, frozen=True),)
    assert ids(*search(PlanningProblem((a,), visits, pins)))["a"] == ["started", "v1", "v2"]


def test_pinned_order_and_a_fixed_start_time() -> None:
    a = tech("a", at(0))
    visits = (visit("v1", at(10)), visit("v2", at(20)), visit("v3", at(30)))
    pins = (Pin("v3", "a", 0, position=0), Pin("v1", "a", 0, position=1, start_time=13 * H))
    evaluator, solution = search(PlanningProblem((a,), visits, pins))
    route = ids(evaluator, solution)["a"]
    assert route.index("v3") < route.index("v1")
    at_v1 = evaluator.schedule(0, solution.routes[0]).service_starts[solution.routes[0].index(0)]
    assert at_v1 == 13 * H


def test_the_change_budget_counts_visits_leaving_a_route() -> None:
    techs = (tech("a", at(0)), tech("b", at(50)))
    visits = tuple(visit(f"v{k}", at(48 + k)) for k in range(3))
    previous = (RouteAssignment("a", 0, ("v0", "v1", "v2")),)
    free = ids(*search(PlanningProblem(techs, visits, previous_routes=previous)))
    assert free == {"a": [], "b": ["v0", "v1", "v2"]}
    for budget in (0, 1, 2):
        problem = PlanningProblem(techs, visits, previous_routes=previous, max_moves_per_route=budget)
        assert len(ids(*search(problem))["b"]) == budget


def test_the_yardstick_names_each_broken_rule() -> None:
    techs = (tech("a", at(0)), tech("b", at(50)))
    visits = tuple(visit(f"v{k}", at(48 + k)) for k in range(3))
    pins = (Pin("v0", "a", 0, position=0, frozen=True), Pin("v1", "a", 0, position=1), Pin("v2", "a", 0, position=2))
    previous = (RouteAssignment("a", 0, ("v0", "v1", "v2")),)
    problem = PlanningProblem(techs, visits, pins, previous, max_moves_per_route=0)
    evaluator = RouteEvaluator(build_instance(problem, GridTravel()), OPTIONS)
    assert evaluator.broken_rules([[0, 1, 2], []]) == []
    assert any("out of order" in rule for rule in evaluator.broken_rules([[0, 2, 1], []]))
    assert any("frozen" in rule for rule in evaluator.broken_rules([[1, 0], []]))
    unpinned = dataclasses.replace(problem, pins=())
    evaluator = RouteEvaluator(build_instance(unpinned, GridTravel()), OPTIONS)
    assert any("budget 0" in rule for rule in evaluator.broken_rules([[0, 1], [2]]))


def test_the_solver_runs_the_compiled_search_for_replans(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []
    search_from = search_module.ruin_and_recreate

    def counted(*args: Any, **kwargs: Any) -> Solution:
        ran.append(1)
        return search_from(*args, **kwargs)

    monkeypatch.setattr(solver, "ruin_and_recreate", counted)
    problem = replan_day(3)
    plan = plan_routes(problem, GridTravel(), PlanningOptions(time_limit=1.0))
    assert ran
    evaluator = RouteEvaluator(build_instance(problem, GridTravel()), OPTIONS)
    position = {v.id: k for k, v in enumerate(problem.visits)}
    vehicle = {v.technician.id: k for k, v in enumerate(evaluator.instance.vehicles)}
    routes: list[list[int]] = [[] for _ in evaluator.vehicles]
    for route in plan.routes:
        routes[vehicle[route.technician_id]] = [position[s.visit_id] for s in route.stops]
    assert evaluator.rules.broken(routes) == []


def test_a_budget_counting_retimes_the_windows_allow_stays_on_the_model() -> None:
    """Our search counts visits leaving a route, not retimes beyond a promise: it takes a re-plan with a change budget
    only where every promised visit's windows lie inside its band (the service cuts them so)."""
    band = TimeWindow(8.5 * H, 9.5 * H)
    a = tech("a", at(0))
    previous = (RouteAssignment("a", 0, ("kept",)),)

    def held(windows: tuple[TimeWindow, ...], budget: int | None = 0) -> bool:
        kept = visit("kept", at(10), windows=windows, promised=band)
        problem = PlanningProblem((a,), (kept,), previous_routes=previous, max_moves_per_route=budget)
        return promises_held_by_windows(build_instance(problem, GridTravel()))

    assert held((TimeWindow(8.6 * H, 9.4 * H),))
    assert not held((TimeWindow(9 * H, 17 * H),))  # a start at 16:00 keeps the window and breaks the promise
    assert not held(())  # any time
    assert held((TimeWindow(9 * H, 17 * H),), budget=None)  # no budget to count against
