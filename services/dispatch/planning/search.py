"""Our own constructor and ruin-and-recreate search: the entry points, and the glue to the compiled kernels.

OR-Tools' first-solution strategies are slow on days with breaks and skills (parallel cheapest
insertion never finishes on 1,000 visits in a minute) and poor on long Solomon routes. Here:

- ``regret_insertion`` builds a plan: at every step the visit with the largest drop penalty plus
  regret (second-best minus best insertion cost) goes to its cheapest place.
- ``ruin_and_recreate`` improves it: remove strings of visits near a random seed from a few
  neighbouring routes (SISR-like), put them and nearby unassigned visits back by noisy regret
  insertion, accept by a threshold that falls to zero over the time given.

Both run compiled (compiled_search.py, numba) on ``CompiledState``, the evaluator's arrays in the
kernels' form, unless the day is very large (technician-days x visits above ``COMPILED_MAX``, where
the compiled state's columns would take hundreds of MB); then the numpy versions (numpy_search.py)
run, which can also stop regret insertion at a time limit. Either way ``RouteEvaluator``
(route_evaluator.py) prices the final routes and turns the plan into the routing model's terms.
"""

from __future__ import annotations

import time as wallclock

import numpy as np

from . import compiled_search as compiled
from .model import PlanningOptions
from .numpy_search import Neighbours, numpy_regret_insertion, numpy_ruin_and_recreate
from .route_evaluator import INF, FloatArray, IntArray, RouteEvaluator, Solution


def regret_insertion(evaluator: RouteEvaluator, time_limit: float = INF) -> Solution:
    """A plan from scratch, or for a re-plan (``instance.initial_routes``) from the previous routes; past
    ``time_limit`` seconds the visits not yet placed stay out."""
    instance = evaluator.instance
    n, vehicles = len(instance.visits), len(instance.vehicles)
    # Compiled, regret insertion is one pass with no clock: keep it to days it finishes in well under a second.
    if compiled_fits(evaluator) and time_limit > 0:
        state = CompiledState(evaluator, Solution([[] for _ in range(vehicles)], [0.0] * vehicles))
        afresh = not instance.initial_routes or n * n * vehicles <= FRESH_START_MAX
        if afresh:
            compiled.construct(state.day, state.plan)
        if instance.initial_routes:
            # From the previous routes, unless building afresh (within the same rules, where that is cheap) is better:
            # on a small day the ruin removes too few visits to move a route's worth to a closer technician at once.
            # On the 120 x 1,000 field day the previous routes won (5.80 M against 6.02 M) in a seventh of the time.
            previous = np.zeros((vehicles, n + 1), dtype=np.int64)
            lengths = np.zeros(vehicles, dtype=np.int64)
            for v, route in enumerate(instance.initial_routes):
                previous[v, : len(route)] = route
                lengths[v] = len(route)
            kept = CompiledState(evaluator, Solution([[] for _ in range(vehicles)], [0.0] * vehicles))
            compiled.construct_from(kept.day, kept.plan, previous, lengths)
            if not afresh or kept.value() <= state.value():
                state = kept
        return state.solution(state.plan.routes, state.plan.lengths)
    return numpy_regret_insertion(evaluator, time_limit)


def compiled_fits(evaluator: RouteEvaluator) -> bool:
    """Whether the day is small enough for the compiled search (``COMPILED_MAX``)."""
    return len(evaluator.instance.visits) * len(evaluator.vehicles) <= COMPILED_MAX


def ruin_and_recreate(
    evaluator: RouteEvaluator,
    solution: Solution,
    time_limit: float,
    seed: int = 0,
    max_removed: int = 15,
    threshold: float = 0.0,
    open_routes: float = 0.0,
) -> Solution:
    """Large neighbourhood search from ``solution`` for ``time_limit`` seconds; returns the best found."""
    if evaluator.instance.visits and compiled_fits(evaluator):
        return _compiled_ruin_and_recreate(evaluator, solution, time_limit, seed, max_removed, threshold, open_routes)
    return numpy_ruin_and_recreate(evaluator, solution, time_limit, seed, max_removed, threshold, open_routes)


# Visits^2 x technician-days (the work of one regret insertion) up to which a re-plan also builds a plan afresh to
# start from (~0.1 s; the 120 x 1,000 field day, 1.2e8, took 1.2 s quiet, 3.3 s under load).
FRESH_START_MAX = 10_000_000

# Visits x technician-days above which the search stays in numpy: the compiled state holds seven
# columns of that size (~110 MB at the limit), and compiled regret insertion, one pass with no clock,
# costs visits x technician-days per insertion (R1_10_1, 1,000 x 250: ~0.2 s).
COMPILED_MAX = 2_000_000


class CompiledState:
    """The evaluator's arrays (``day``) and one plan (``plan``) in the compiled search's form."""

    def __init__(self, evaluator: RouteEvaluator, solution: Solution) -> None:
        e = evaluator
        vehicles, n = len(e.vehicles), len(e.node)
        breaks = np.zeros((vehicles, max([len(data.breaks) for data in e.vehicles] + [1]), 3))
        for k, data in enumerate(e.vehicles):
            if data.breaks:
                breaks[k, : len(data.breaks)] = data.breaks

        def per_vehicle(name: str) -> FloatArray:
            return np.asarray([getattr(data, name) for data in e.vehicles], dtype=np.float64)

        def nodes(name: str) -> IntArray:
            return np.asarray([getattr(data, name) for data in e.vehicles], dtype=np.int64)

        self.day = compiled.Day(
            travel=e.travel,
            node=e.node,
            service=e.service,
            window_start=e.window_start,
            window_end=e.window_end,
            demand=e.demand,
            start_node=nodes("start_node"),
            end_node=nodes("end_node"),
            start=per_vehicle("start"),
            hard_end=per_vehicle("hard_end"),
            soft_end=per_vehicle("soft_end"),
            breaks=breaks,
            break_count=np.asarray([len(data.breaks) for data in e.vehicles], dtype=np.int64),
            sla=e._sla_bound,
            sla_cost=e.sla_cost,
            overtime_cost=per_vehicle("overtime_cost"),
            max_travel=per_vehicle("max_travel"),
            simple=np.asarray([k in e._simple for k in range(vehicles)], dtype=bool),
            capacity=per_vehicle("capacity"),
            allowed=e.allowed,
            crossing=e.crossing,
            penalty=e.penalty,
            regret_cap=e.regret_cap,
            rank=e.rules.rank,
            frozen=e.rules.frozen,
            ordered=e.rules.ordered,
            previous_vehicle=e.rules.previous_vehicle,
            budget=e.rules.budget,
        )
        self.evaluator = evaluator
        routes = np.zeros((vehicles, n + 1), dtype=np.int64)
        lengths = np.zeros(vehicles, dtype=np.int64)
        route_of = np.full(n, -1, dtype=np.int64)
        for v, route in enumerate(solution.routes):
            routes[v, : len(route)] = route
            lengths[v] = len(route)
            route_of[route] = v

        def per_stop() -> FloatArray:
            return np.zeros((vehicles, n + 2))

        self.plan = compiled.PlanState(
            routes=routes,
            lengths=lengths,
            latest_start=per_stop(),
            cost=np.zeros(vehicles),
            travel=np.zeros(vehicles),
            load=np.zeros(vehicles),
            clock_before=per_stop(),
            travel_before=per_stop(),
            late_before=per_stop(),
            breaks_before=np.zeros((vehicles, n + 2), dtype=np.int64),
            route_of=route_of,
            moved=e.rules.moves(solution.routes),
        )
        compiled.reschedule_all(self.day, self.plan)

    def value(self) -> float:
        return float(self.plan.cost.sum() + self.evaluator.penalty[self.plan.route_of < 0].sum())

    def solution(self, routes: IntArray, lengths: IntArray) -> Solution:
        plan = [routes[v, : lengths[v]].tolist() for v in range(len(lengths))]
        return Solution(plan, [self.evaluator.route_cost(v, r) for v, r in enumerate(plan)])


def _compiled_ruin_and_recreate(
    evaluator: RouteEvaluator,
    solution: Solution,
    time_limit: float,
    seed: int,
    max_removed: int,
    threshold: float,
    open_routes: float,
) -> Solution:
    """``ruin_and_recreate`` in compiled chunks of steps, between which the clock is read."""
    began = wallclock.perf_counter()
    n = len(evaluator.node)
    state = CompiledState(evaluator, solution)
    neighbours = Neighbours(evaluator)
    best_routes, best_lengths = state.plan.routes.copy(), state.plan.lengths.copy()
    dirty = np.zeros(len(best_lengths), dtype=bool)
    value = best_value = state.value()
    compiled.seed_random(seed)
    max_removed = max(2, min(max_removed, n // 4))
    steps, per_step = 8, 0.0
    while (elapsed := wallclock.perf_counter() - began) < time_limit:
        if per_step > 0:  # chunks of ~10 ms, never past the limit
            steps = max(1, min(int(0.01 / per_step), int((time_limit - elapsed) / per_step)))
        chunk = wallclock.perf_counter()
        value, best_value = compiled.search(
            state.day,
            state.plan,
            neighbours.visits,
            neighbours.vehicle_to_visit,
            best_routes,
            best_lengths,
            dirty,
            value,
            best_value,
            steps,
            max_removed,
            threshold,
            elapsed / time_limit,
            open_routes,
        )
        per_step = max(1e-7, (wallclock.perf_counter() - chunk) / steps)
    return state.solution(best_routes, best_lengths)


def compile_search() -> None:
    """Compiles the compiled search into numba's cache (or loads it from there) by planning a tiny day:
    deploy images run this at build time so that no service compiles on its first plan."""
    from .instance import build_instance
    from .model import GeoPoint, PlanningProblem, Shift, Technician, TimeWindow, Visit
    from .travel import RoadFactorTravel

    shift = Shift(day=0, start=8 * 3600.0, end=17 * 3600.0)
    problem = PlanningProblem(
        (Technician(id="t", home=GeoPoint(44.95, 34.10), shifts=(shift,)),),
        tuple(
            Visit(
                id=f"v{k}",
                location=GeoPoint(44.95 + k / 100, 34.10),
                service_duration=1800.0,
                windows=(TimeWindow(9 * 3600.0, 16 * 3600.0),),
            )
            for k in range(4)
        ),
    )
    evaluator = RouteEvaluator(build_instance(problem, RoadFactorTravel()), PlanningOptions())
    ruin_and_recreate(evaluator, regret_insertion(evaluator), time_limit=0.01, open_routes=0.5)
