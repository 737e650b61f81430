"""The constructor and ruin-and-recreate search in numpy, for days too large for the compiled search.

- ``numpy_regret_insertion``: at every step the visit with the largest drop penalty plus regret
  (second-best minus best insertion cost) goes to its cheapest place; stops at a deadline.
- ``numpy_ruin_and_recreate``: remove strings of visits near a random seed from a few neighbouring
  routes (SISR-like), put them and nearby unassigned visits back by noisy regret insertion, accept by a
  threshold that falls to zero over the time given.

The same moves and acceptance as compiled_search.py; search.py picks one or the other. Insertions are
priced by ``RouteEvaluator``.
"""

from __future__ import annotations

import time as wallclock

import numpy as np

from .route_evaluator import INF, IntArray, RouteEvaluator, Solution, objective


def _insert(
    evaluator: RouteEvaluator,
    solution: Solution,
    pool: list[int],
    vehicles: list[int],
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
    deadline: float = INF,
) -> list[int]:
    """Regret-2 insertion of the visits of ``pool`` into ``vehicles``' routes; what does not fit stays out.

    Returns the visits inserted."""
    inserted: list[int] = []
    if not pool or not vehicles:
        return inserted
    candidates = np.asarray(pool, dtype=np.int64)
    extra = np.full((len(candidates), len(vehicles)), INF)
    where = np.zeros((len(candidates), len(vehicles)), dtype=np.int64)
    allowed = evaluator.allowed[np.ix_(candidates, np.asarray(vehicles))]
    open_ = np.ones(len(candidates), dtype=bool)

    def refresh(column: int) -> None:
        rows = np.flatnonzero(open_ & allowed[:, column])
        extra[:, column] = INF
        if len(rows):
            v = vehicles[column]
            extra[rows, column], where[rows, column] = evaluator.insertions(
                v, solution.routes[v], candidates[rows], solution.costs[v]
            )

    for column in range(len(vehicles)):
        refresh(column)
    # An insertion cost within this much of the regret cap counts as "only one place left".
    cap = evaluator.regret_cap
    while open_.any() and wallclock.perf_counter() < deadline:
        if len(vehicles) > 1:
            two = np.partition(extra, 1, axis=1)[:, :2]
            best, second = two[:, 0], two[:, 1]
        else:
            best, second = extra[:, 0], np.full(len(candidates), INF)
        feasible = open_ & (best < INF)
        if not feasible.any():
            break
        with np.errstate(invalid="ignore"):
            regret = np.minimum(np.where(second < INF, second - best, cap), cap)
        score = evaluator.penalty[candidates] + regret - best
        if rng is not None and noise > 0:
            score = score + rng.normal(0.0, noise * cap, len(candidates))
        score = np.where(feasible, score, -INF)
        i = int(np.argmax(score))
        column = int(np.argmin(extra[i]))
        v = vehicles[column]
        solution.routes[v].insert(int(where[i, column]), int(candidates[i]))
        solution.costs[v] += float(extra[i, column])
        inserted.append(int(candidates[i]))
        open_[i] = False
        extra[i, :] = INF
        refresh(column)
    return inserted


def numpy_regret_insertion(evaluator: RouteEvaluator, time_limit: float = INF) -> Solution:
    """A plan from scratch; past ``time_limit`` seconds the visits not yet placed stay out."""
    n, vehicles = len(evaluator.instance.visits), len(evaluator.instance.vehicles)
    solution = Solution([[] for _ in range(vehicles)], [0.0] * vehicles)
    deadline = wallclock.perf_counter() + time_limit
    _insert(evaluator, solution, list(range(n)), list(range(vehicles)), deadline=deadline)
    return solution


class Neighbours:
    """Per visit: the other visits, nearest first; per technician-day: travel from its start to each visit."""

    def __init__(self, evaluator: RouteEvaluator) -> None:
        nodes = evaluator.node
        between = evaluator.travel[np.ix_(nodes, nodes)]
        self.visits = np.argsort(between + between.T, axis=1)  # per visit: the others, nearest first
        starts = np.asarray([v.start_node for v in evaluator.vehicles], dtype=np.int64)
        self.vehicle_to_visit = evaluator.travel[np.ix_(starts, nodes)]


def numpy_ruin_and_recreate(
    evaluator: RouteEvaluator,
    solution: Solution,
    time_limit: float,
    seed: int = 0,
    max_removed: int = 15,
    threshold: float = 0.0,
    open_routes: float = 0.0,
) -> Solution:
    """Large neighbourhood search from ``solution`` for ``time_limit`` seconds; returns the best found."""
    began = wallclock.perf_counter()
    rng = np.random.default_rng(seed)
    n = len(evaluator.instance.visits)
    if n == 0:
        return solution
    neighbours = Neighbours(evaluator)
    route_of = np.full(n, -1, dtype=np.int64)  # of ``current``
    for v, route in enumerate(solution.routes):
        route_of[route] = v
    best, current = solution.copy(), solution.copy()
    best_value = current_value = objective(evaluator, current)
    dropped = current_value - sum(current.costs)  # penalties of the visits out of ``current``
    max_removed = max(2, min(max_removed, n // 4))
    while True:
        elapsed = wallclock.perf_counter() - began
        if elapsed >= time_limit:
            break
        trial = current.copy()
        removed, touched = _ruin(trial, route_of, neighbours, rng, max_removed)
        if not removed:
            break
        seed_visit = removed[0]
        # Recreate into the routes ruined, plus the nearest other technician-days (idle ones too).
        idle = np.asarray([v for v, r in enumerate(trial.routes) if not r and v not in touched], dtype=np.int64)
        near = [int(v) for v in idle[np.argsort(neighbours.vehicle_to_visit[idle, seed_visit])[:2]]]
        for k in neighbours.visits[seed_visit][: 3 * max_removed]:
            if route_of[k] >= 0 and len(near) < 6 + len(touched):
                near.append(int(route_of[k]))
        vehicles = sorted(set(touched) | set(near))
        for v in touched:
            trial.costs[v] = evaluator.route_cost(v, trial.routes[v])
        waiting = [int(k) for k in neighbours.visits[seed_visit][: 2 * max_removed] if route_of[k] < 0]
        pool = list(dict.fromkeys(removed + waiting))
        opened = (
            _open_route(evaluator, trial, seed_visit, near) if open_routes > 0 and rng.random() < open_routes else []
        )
        pool = [k for k in pool if k not in opened]
        inserted = opened + _insert(evaluator, trial, pool, vehicles, rng, noise=0.1 * float(rng.random()))
        trial_dropped = dropped + evaluator.penalty[removed].sum() - evaluator.penalty[inserted].sum()
        value = sum(trial.costs) + trial_dropped
        # Accept a worse plan by up to ``threshold`` of the route costs of the visits one step ruins
        # (the plan's route costs, penalties aside, times max_removed / n), falling to 0 over the time.
        slack = threshold * max(0.0, 1.0 - elapsed / time_limit) * sum(current.costs) * max_removed / n
        if value < current_value + slack:
            for v in vehicles:
                route_of[current.routes[v]] = -1
            for v in vehicles:
                route_of[trial.routes[v]] = v
            current, current_value, dropped = trial, value, trial_dropped
            if value < best_value - 1e-9:
                best, best_value = trial.copy(), value
    return best


def _open_route(evaluator: RouteEvaluator, solution: Solution, seed_visit: int, near: list[int]) -> list[int]:
    """Start an idle technician-day's route with the seed visit: regret insertion alone
    never pays a fresh round trip for one visit, so plans kept too few, too long routes (Solomon R2)."""
    idle = [v for v in near if not solution.routes[v] and evaluator.allowed[seed_visit, v]]
    if not idle:
        return []
    v = idle[0]
    extra, _ = evaluator.insertions(v, [], np.asarray([seed_visit]), 0.0)  # checked, unlike route_cost
    if extra[0] == INF:
        return []
    solution.routes[v], solution.costs[v] = [seed_visit], float(extra[0])
    return [seed_visit]


def _ruin(
    solution: Solution, route_of: IntArray, neighbours: Neighbours, rng: np.random.Generator, max_removed: int
) -> tuple[list[int], list[int]]:
    """Strings of visits around a random seed, from up to a few neighbouring routes (SISR-like)."""
    assigned = np.flatnonzero(route_of >= 0)
    if len(assigned) == 0:
        return [], []
    target = int(rng.integers(max(2, max_removed // 3), max_removed + 1))
    seed_visit = int(rng.choice(assigned))
    removed: list[int] = []
    touched: list[int] = []
    max_string = max(2, target // 2)
    for k in neighbours.visits[seed_visit]:
        v = int(route_of[k])
        if v < 0 or v in touched:
            continue
        route = solution.routes[v]
        length = int(rng.integers(1, min(len(route), max_string) + 1))
        at = route.index(int(k))
        first = int(rng.integers(max(0, at - length + 1), min(at, len(route) - length) + 1))
        removed.extend(route[first : first + length])
        del route[first : first + length]
        touched.append(v)
        if len(removed) >= target:
            break
    return removed, touched
