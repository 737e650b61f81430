"""Scale by decomposition: cluster-first construction, then route-based large neighbourhood search.

One OR-Tools model over 1,000 visits and 120 technician-days with breaks never finishes its first
solution within a minute, and each local-search move on it is slow. Instead:

1. Construction: visits are split into clusters of about ``options.subproblem_visits`` by travel time (farthest-point
   seeds, capacity-balanced assignment); technician-days are shared out in proportion to each
   cluster's work, nearest homes first; each cluster is solved as its own small model.
2. Improvement: repeatedly take a seed route, the routes closest to it, an idle technician-day or two
   and the unassigned visits nearby, and re-solve that sub-problem warm-started from the current routes
   (so it can only get better); routes outside it do not move.
"""

from __future__ import annotations

import math
import time as wallclock
from dataclasses import replace

import numpy as np

from .instance import RoutingInstance
from .model import FirstSolution, PlanningOptions, SolveStatus
from .ortools_model import solve_instance
from .raw import RawRoute, RawSolution

CONSTRUCTION_SHARE = 0.5  # of the time limit, for building the first solution


def _cluster(instance: RoutingInstance, k: int, rng: np.random.Generator) -> list[list[int]]:
    """Visit positions in ``k`` groups of similar size, compact in travel time."""
    n = len(instance.visits)
    nodes = np.asarray(instance.visit_nodes)
    travel = instance.travel[np.ix_(nodes, nodes)]
    symmetric = (travel + travel.T) / 2.0
    seeds = [int(rng.integers(n))]
    nearest = symmetric[seeds[0]].copy()
    while len(seeds) < k:
        seeds.append(int(np.argmax(nearest)))
        nearest = np.minimum(nearest, symmetric[seeds[-1]])
    cap = math.ceil(n / k * 1.1)
    groups: list[list[int]] = [[] for _ in seeds]
    to_seed = symmetric[:, seeds]
    # Visits most decided about their cluster go first, so the size cap bends the undecided ones.
    sorted_costs = np.sort(to_seed, axis=1)
    regret = sorted_costs[:, 1] - sorted_costs[:, 0] if k > 1 else np.zeros(n)
    for i in np.argsort(-regret):
        for g in np.argsort(to_seed[i]):
            if len(groups[g]) < cap:
                groups[int(g)].append(int(i))
                break
    return [g for g in groups if g]


def _medoid(instance: RoutingInstance, visits: list[int]) -> int:
    """The node of the visit with the least travel to the others."""
    nodes = [instance.visit_nodes[k] for k in visits]
    return nodes[int(np.argmin(instance.travel[np.ix_(nodes, nodes)].sum(axis=1)))]


def _share_vehicles(instance: RoutingInstance, groups: list[list[int]]) -> list[list[int]]:
    """Technician-days per cluster in proportion to its work, each to the cluster nearest its start."""
    work = np.array([sum(instance.visits[i].service_duration for i in g) + 1.0 for g in groups])
    demand = np.array([sum(instance.visits[i].demand for i in g) for g in groups], dtype=np.float64)
    share = work / work.sum()
    if demand.sum() > 0:
        share = np.maximum(share, demand / demand.sum())
        share = share / share.sum()
    vehicles = len(instance.vehicles)
    quota = np.maximum(1, np.floor(share * vehicles)).astype(int)
    while quota.sum() < vehicles:  # hand out the remainder to the clusters that lost most to rounding
        quota[int(np.argmax(share * vehicles - quota))] += 1
    medoids = [_medoid(instance, group) for group in groups]
    starts = np.array([v.start_node for v in instance.vehicles])
    distance = instance.travel[np.ix_(starts, np.array(medoids))]  # (vehicles, clusters)
    assigned: list[list[int]] = [[] for _ in groups]
    for flat in np.argsort(distance, axis=None, kind="stable"):
        v, g = divmod(int(flat), len(groups))
        if quota[g] > 0 and not any(v in a for a in assigned):
            assigned[g].append(v)
            quota[g] -= 1
    return assigned


class _Search:
    def __init__(self, instance: RoutingInstance, options: PlanningOptions) -> None:
        self.instance = instance
        self.options = options
        self.routes: list[list[int]] = [[] for _ in instance.vehicles]
        self.raw: dict[int, RawRoute] = {}
        self.rng = np.random.default_rng(options.seed)

    def solve_sub(self, vehicle_ids: list[int], visit_ids: list[int], time_limit: float) -> bool:
        current = [self.routes[v] for v in vehicle_ids]
        sub = self.instance.subset(vehicle_ids, visit_ids, current)
        # A sub-problem inherits pins and the budget through ``subset``; its warm start is the current plan.
        raw = solve_instance(sub, self.options, time_limit, require_warm_start=any(current))
        if raw.status not in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL):
            return False
        for route in raw.routes:
            v = vehicle_ids[route.vehicle]
            self.routes[v] = [visit_ids[k] for k in route.visits]
            self.raw[v] = replace(route, vehicle=v, visits=tuple(self.routes[v]))
        return True

    def cover(self, time_limit: float) -> None:
        """Each current route re-solved once, warm-started, in sub-problems of about ``subproblem_visits`` visits
        (routes of one day, nearest first): a re-plan too large for one model in its time (a horizon of days)
        keeps every route, with its times, instead of only those a later neighbourhood happens to take."""
        began = wallclock.perf_counter()
        pending = [v for v, r in enumerate(self.routes) if r]
        while pending:
            first = self.instance.vehicles[pending[0]]
            same_day = [v for v in pending if self.instance.vehicles[v].shift.day == first.shift.day]
            medoids = np.array([_medoid(self.instance, self.routes[v]) for v in same_day])
            centre = int(medoids[0])
            vehicles: list[int] = []
            visits: list[int] = []
            for j in np.argsort(self.instance.travel[centre, medoids], kind="stable"):
                route = self.routes[same_day[int(j)]]
                if visits and len(visits) + len(route) > self.options.subproblem_visits:
                    break
                vehicles.append(same_day[int(j)])
                visits.extend(route)
            left = time_limit - (wallclock.perf_counter() - began)
            chunks = max(1.0, len(pending) / len(vehicles))
            self.solve_sub(vehicles, visits, max(0.2, left / chunks))
            pending = [v for v in pending if v not in vehicles]

    def unassigned(self) -> list[int]:
        served = {k for r in self.routes for k in r}
        return [k for k in range(len(self.instance.visits)) if k not in served]

    def neighbourhood(self) -> tuple[list[int], list[int]]:
        used = [v for v, r in enumerate(self.routes) if r]
        idle = [v for v, r in enumerate(self.routes) if not r]
        waiting = self.unassigned()
        if used:
            centre = _medoid(self.instance, self.routes[int(self.rng.choice(used))])
        else:  # construction found nothing (no time, or no fit): grow routes around a waiting visit
            centre = self.instance.visit_nodes[int(self.rng.choice(waiting))]
        vehicles: list[int] = []
        visits: list[int] = []
        if used:
            medoids = np.array([_medoid(self.instance, self.routes[v]) for v in used])
            closeness = self.instance.travel[centre, medoids] + self.instance.travel[medoids, centre]
            for j in np.argsort(closeness):
                if len(visits) >= self.options.subproblem_visits:
                    break
                vehicles.append(used[int(j)])
                visits.extend(self.routes[used[int(j)]])
        if idle:
            starts = np.array([self.instance.vehicles[v].start_node for v in idle])
            extra = 2 if used else max(2, self.options.subproblem_visits // 8)
            vehicles.extend(idle[int(j)] for j in np.argsort(self.instance.travel[starts, centre])[:extra])
        chosen = set(vehicles)
        waiting = [k for k in waiting if chosen.intersection(self.instance.allowed[k])]
        if waiting:
            nodes = np.array([self.instance.visit_nodes[k] for k in waiting])
            room = max(5, self.options.subproblem_visits // 4, self.options.subproblem_visits - len(visits))
            visits.extend(waiting[int(j)] for j in np.argsort(self.instance.travel[centre, nodes])[:room])
        return vehicles, visits

    def result(self, status: SolveStatus) -> RawSolution:
        routes = tuple(self.raw[v] for v in sorted(self.raw) if self.routes[v])
        return RawSolution(status, routes, 0)


def solve_decomposed(
    instance: RoutingInstance, options: PlanningOptions, time_limit: float, start: RawSolution | None = None
) -> RawSolution:
    """``start``: a complete solution to improve (skips the construction)."""
    began = wallclock.perf_counter()
    search = _Search(instance, options)
    n = len(instance.visits)
    sub_visits = options.subproblem_visits
    construction = time_limit * CONSTRUCTION_SHARE
    if start is not None:
        for route in start.routes:
            search.routes[route.vehicle] = list(route.visits)
            search.raw[route.vehicle] = route
    elif n > sub_visits * 1.5 and not instance.initial_routes:
        groups = _cluster(instance, max(1, round(n / sub_visits)), search.rng)
        fleets = _share_vehicles(instance, groups)
        # Parallel cheapest insertion often returns nothing within its share on days with breaks;
        # local cheapest insertion always returns something quickly, and the LNS improves on it.
        search.options = replace(options, first_solution=FirstSolution.LOCAL_CHEAPEST_INSERTION)
        for k, (group, fleet) in enumerate(zip(groups, fleets, strict=True)):
            left = construction - (wallclock.perf_counter() - began)
            search.solve_sub(fleet, group, max(0.2, left / (len(groups) - k)))
        search.options = options
    else:
        search.routes = [list(r) for r in instance.initial_routes] or search.routes
        # one model of a re-plan above the threshold (a horizon of days) found nothing in 30 s of 60 and lost the
        # routes no neighbourhood took after it: such re-plans start from their routes, piece by piece
        whole = n <= options.decomposition_threshold
        if not (whole and search.solve_sub(list(range(len(instance.vehicles))), list(range(n)), construction)):
            search.cover(construction - (wallclock.perf_counter() - began))
    while True:
        left = time_limit - (wallclock.perf_counter() - began)
        if left < 0.3 or not (any(search.routes) or search.unassigned()):
            break
        vehicles, visits = search.neighbourhood()
        if not vehicles or not visits:
            continue
        search.solve_sub(vehicles, visits, min(left, max(0.3, len(visits) * 0.01)))
    return search.result(SolveStatus.FEASIBLE)
