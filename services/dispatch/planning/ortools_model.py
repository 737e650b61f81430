"""The OR-Tools routing model: data -> index manager -> model -> transits -> dimensions -> windows ->
search parameters -> solve -> status -> plain data. The only module that imports ortools."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from .instance import RoutingInstance, Ticks
from .model import Metaheuristic, PlanningOptions, Shift, SolveStatus, Visit
from .raw import RawRoute, RawSolution, unique_in_order
from .route_evaluator import drop_penalty_ticks, overtime_weight, sla_weight

IntArray = npt.NDArray[np.int64]
TIME = "time"
TRAVEL = "travel"
LOAD = "load"


@dataclass(slots=True)
class _Model:
    instance: RoutingInstance
    options: PlanningOptions
    ticks: Ticks
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    depot_count: int
    travel: IntArray  # model-node travel ticks
    service: IntArray  # model-node service ticks
    horizon: int

    def visit_index(self, position: int) -> int:
        return int(self.manager.NodeToIndex(self.depot_count + position))


def _index_manager(
    instance: RoutingInstance, ticks: Ticks
) -> tuple[pywrapcp.RoutingIndexManager, list[int], IntArray, IntArray]:
    depot_nodes = sorted({v.start_node for v in instance.vehicles} | {v.end_node for v in instance.vehicles})
    model_nodes = depot_nodes + list(instance.visit_nodes)
    local = {g: i for i, g in enumerate(depot_nodes)}
    travel = ticks.up_array(instance.travel[np.ix_(model_nodes, model_nodes)])
    np.fill_diagonal(travel, 0)
    service = np.zeros(len(model_nodes), dtype=np.int64)
    service[len(depot_nodes) :] = [ticks.up(v.service_duration) for v in instance.visits]
    manager = pywrapcp.RoutingIndexManager(
        len(model_nodes),
        len(instance.vehicles),
        [local[v.start_node] for v in instance.vehicles],  # starts
        [local[v.end_node] for v in instance.vehicles],  # ends
    )
    return manager, depot_nodes, travel, service


def _shift_ticks(shift: Shift, ticks: Ticks) -> tuple[int, int, int]:
    """Start, regular end and hard end in ticks, in that order whatever the rounding or the input."""
    start = max(0, ticks.up(shift.start))
    end = max(start, ticks.down(shift.end))
    return start, end, max(end, ticks.down(shift.end + max(0.0, shift.overtime_limit)))


def _horizon(instance: RoutingInstance, ticks: Ticks) -> int:
    return max((_shift_ticks(v.shift, ticks)[2] for v in instance.vehicles), default=0) + 1


def _add_travel_cost(m: _Model) -> int:
    """Travel is the arc cost; returns its callback (the max-travel dimension counts it too)."""
    travel_cb = m.routing.RegisterTransitMatrix(m.travel.tolist())
    m.routing.SetArcCostEvaluatorOfAllVehicles(travel_cb)
    _add_territory_crossing(m)
    return int(travel_cb)


def _add_territory_crossing(m: _Model) -> None:
    """A visit outside its technician's territories costs ``crossing_cost`` more on the arc into it: one cost matrix
    per distinct set of such visits (technicians of one territory share it), not one per vehicle."""
    crossing, cost = m.instance.crossing, m.ticks.up(m.instance.crossing_cost)
    if not crossing or cost <= 0:
        return
    by_vehicle: dict[frozenset[int], list[int]] = {}
    for v in range(len(m.instance.vehicles)):
        outside = frozenset(k for k, vehicles in enumerate(crossing) if v in vehicles)
        if outside:
            by_vehicle.setdefault(outside, []).append(v)
    for outside, vehicles in by_vehicle.items():
        priced = m.travel.copy()
        priced[:, [m.depot_count + k for k in sorted(outside)]] += cost  # every arc into those visits
        callback = m.routing.RegisterTransitMatrix(priced.tolist())
        for v in vehicles:
            m.routing.SetArcCostEvaluatorOfVehicle(callback, v)


def _add_time_dimension(m: _Model) -> pywrapcp.RoutingDimension:
    """Service at the origin plus travel; waiting allowed; shift windows, overtime soft then hard."""
    transit = m.travel + m.service[:, None]
    time_cb = m.routing.RegisterTransitMatrix(transit.tolist())
    m.routing.AddDimension(time_cb, m.horizon, m.horizon, False, TIME)  # slack max, capacity, fix start
    time = m.routing.GetDimensionOrDie(TIME)
    for v, vehicle in enumerate(m.instance.vehicles):
        start, end, hard_end = _shift_ticks(vehicle.shift, m.ticks)
        time.CumulVar(m.routing.Start(v)).SetRange(start, end)
        time.CumulVar(m.routing.End(v)).SetRange(start, hard_end)
        if hard_end > end:
            time.SetCumulVarSoftUpperBound(m.routing.End(v), end, overtime_weight(vehicle.shift, m.options))
        # Every stop as early as the route allows (solver.py then leaves as late as keeps the first stop's time):
        # maximising the start here pushed each stop, emergencies included, to the end of its window.
        m.routing.AddVariableMinimizedByFinalizer(time.CumulVar(m.routing.Start(v)))
        m.routing.AddVariableMinimizedByFinalizer(time.CumulVar(m.routing.End(v)))
    if m.options.balance_cost > 0:
        time.SetGlobalSpanCostCoefficient(max(1, round(m.options.balance_cost)))
    return time


def _add_windows(m: _Model, time: pywrapcp.RoutingDimension) -> None:
    """One or more windows per visit: the hull as the range, the gaps removed; SLA as a soft bound."""
    for k, visit in enumerate(m.instance.visits):
        cumul = time.CumulVar(m.visit_index(k))
        pin = m.instance.pins.get(k)
        if pin is not None and pin.start_time is not None:
            fixed = m.ticks.up(pin.start_time)
            if 0 <= fixed <= m.horizon:
                cumul.SetRange(fixed, fixed)  # a dispatcher's fixed time wins over the visit's windows
            else:  # no shift holds it: the visit can't be served, and the model stays feasible
                m.routing.ActiveVar(m.visit_index(k)).SetValue(0)
        else:
            _set_windows(m, visit, cumul)
        if visit.sla_deadline is not None:
            deadline = m.ticks.down(visit.sla_deadline)
            time.SetCumulVarSoftUpperBound(m.visit_index(k), deadline, sla_weight(visit, m.options))


def _set_windows(m: _Model, visit: Visit, cumul: Any) -> None:
    # a window narrower than a tick keeps its start (rounding must not turn it into no window at all)
    windows = sorted(
        (m.ticks.up(w.start), max(m.ticks.up(w.start), m.ticks.down(w.end))) for w in visit.windows if w.start <= w.end
    )
    windows = [(max(0, a), min(b, m.horizon)) for a, b in windows if b >= 0 and a <= m.horizon]
    if visit.windows and not windows:
        windows = [(m.horizon, m.horizon)]  # no window fits the horizon: unreachable, so dropped
    if windows:
        cumul.SetRange(windows[0][0], max(b for _, b in windows))
        reach = windows[0][1]
        for a, b in windows[1:]:
            if a > reach + 1:
                cumul.RemoveInterval(reach + 1, a - 1)
            reach = max(reach, b)


def _add_skills(m: _Model) -> None:
    """Skills, levels, days and pins all reduce to the vehicles a visit may ride on."""
    everyone = len(m.instance.vehicles)
    for k, allowed in enumerate(m.instance.allowed):
        if len(allowed) < everyone:
            # SetAllowedVehiclesForIndex rejects Python lists in 9.15; -1 keeps "unperformed" possible.
            m.routing.VehicleVar(m.visit_index(k)).SetValues([*allowed, -1])


def _add_drop_penalties(m: _Model) -> None:
    penalties = [drop_penalty_ticks(m.options, visit, m.ticks) for visit in m.instance.visits]
    # a pinned visit outweighs any visit's drop: ten times the largest default, and the largest of the visits'
    pinned_penalty = max(10 * max(penalties), round(10 * max(m.options.drop_penalties.values()) / m.ticks.resolution))
    for k, penalty in enumerate(penalties):
        m.routing.AddDisjunction([m.visit_index(k)], pinned_penalty if k in m.instance.pins else penalty)


def _add_capacity(m: _Model) -> None:
    if not any(v.demand for v in m.instance.visits):
        return
    demand = [0] * m.depot_count + [v.demand for v in m.instance.visits]
    demand_cb = m.routing.RegisterUnaryTransitVector(demand)
    capacities = [
        v.technician.capacity if v.technician.capacity is not None else sum(demand) for v in m.instance.vehicles
    ]
    m.routing.AddDimensionWithVehicleCapacity(demand_cb, 0, capacities, True, LOAD)  # no slack, from 0


def _add_max_travel(m: _Model, travel_cb: int) -> None:
    limits = [v.shift.max_travel for v in m.instance.vehicles]
    if all(limit is None for limit in limits):
        return
    capacities = [m.horizon if limit is None else m.ticks.down(limit) for limit in limits]
    m.routing.AddDimensionWithVehicleCapacity(travel_cb, 0, capacities, True, TRAVEL)


def _add_breaks(m: _Model, time: pywrapcp.RoutingDimension) -> None:
    if not any(v.shift.breaks for v in m.instance.vehicles):
        return
    solver = m.routing.solver()
    # Breaks may not interrupt service; service at node i lasts service[i].
    node_visit_transits = [int(m.service[m.manager.IndexToNode(i)]) for i in range(m.routing.Size())]
    for v, vehicle in enumerate(m.instance.vehicles):
        intervals = [
            solver.FixedDurationIntervalVar(
                m.ticks.up(rule.earliest_start),  # start min
                max(m.ticks.up(rule.earliest_start), m.ticks.down(rule.latest_start)),  # start max, never below min
                m.ticks.up(rule.duration),  # duration
                False,  # optional
                f"break {v} {b}",
            )
            for b, rule in enumerate(vehicle.shift.breaks)
        ]
        if intervals:
            time.SetBreakIntervalsOfVehicle(intervals, v, node_visit_transits)


def _add_pins(m: _Model, time: pywrapcp.RoutingDimension) -> None:
    """Pinned order between pinned visits of a route; frozen visits chained from the route start."""
    solver = m.routing.solver()
    by_vehicle: dict[int, list[tuple[int, int, bool]]] = {}
    for k, pin in m.instance.pins.items():
        if m.instance.allowed[k] and pin.position is not None:
            by_vehicle.setdefault(m.instance.allowed[k][0], []).append((pin.position, k, pin.frozen))
    for v, pinned in by_vehicle.items():
        pinned.sort()
        for (_, a, _), (_, b, _) in itertools.pairwise(pinned):
            ia, ib = m.visit_index(a), m.visit_index(b)
            # only between visits both served: a pinned visit that can't be served must not hold the other back
            both = m.routing.ActiveVar(ia) + m.routing.ActiveVar(ib)
            gap = time.CumulVar(ia) + int(m.service[m.depot_count + a]) - time.CumulVar(ib)
            solver.Add(gap <= (m.horizon + int(m.service.max())) * (2 - both))
        previous = m.routing.Start(v)
        big = m.routing.Size() + len(m.instance.vehicles)
        for _, k, frozen in pinned:
            if not frozen:
                break
            # at the head of the route when served; one the shift can't hold (started before it) is left out,
            # never the whole model infeasible
            index = m.visit_index(k)
            off = 1 - m.routing.ActiveVar(index)
            solver.Add(m.routing.NextVar(previous) - index <= big * off)
            solver.Add(m.routing.NextVar(previous) - index >= -big * off)
            previous = index


def _add_change_budget(m: _Model, time: pywrapcp.RoutingDimension) -> None:
    budget = m.instance.max_moves_per_route
    if budget is None or not m.instance.previous_routes:
        return
    solver = m.routing.solver()
    for v, previous in enumerate(m.instance.previous_routes):
        promised = [k for k in previous if m.instance.visits[k].promised is not None]
        if len(previous) > budget or promised:
            # moved to another technician; one that can't be served at all is dropped, not moved (counting it
            # made a day whose shift shrank, e.g. sick from now, infeasible as a whole)
            changed = [
                solver.IsDifferentCstVar(vehicle, v) - solver.IsEqualCstVar(vehicle, -1)
                for vehicle in (m.routing.VehicleVar(m.visit_index(k)) for k in previous)
            ]
            changed += [_broken_promise(m, time, v, k) for k in promised]
            solver.Add(solver.Sum(changed) <= budget)


def _broken_promise(m: _Model, time: pywrapcp.RoutingDimension, v: int, k: int) -> Any:
    """1 when visit ``k`` stays on its route ``v`` but starts outside its promise (a move counts once already)."""
    solver = m.routing.solver()
    promise = m.instance.visits[k].promised
    assert promise is not None
    index = m.visit_index(k)
    cumul = time.CumulVar(index)
    outside = solver.IsLessCstVar(cumul, m.ticks.down(promise.start)) + solver.IsGreaterCstVar(
        cumul, m.ticks.up(promise.end)
    )
    return solver.IsEqualCstVar(m.routing.VehicleVar(index), v) * outside


def _search_parameters(options: PlanningOptions, time_limit: float) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, options.first_solution)
    if options.metaheuristic == Metaheuristic.ITERATED_LOCAL_SEARCH:
        _iterated_local_search(params)
    else:
        params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, options.metaheuristic)
    params.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    return params


def _iterated_local_search(params: Any) -> None:
    """Ruin (SISR: strings removed from neighbouring routes) and recreate, annealing acceptance."""
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ruin = ils.ruin_recreate_parameters
    sisr = ruin.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = 10
    sisr.avg_num_removed_visits = 10
    sisr.bypass_factor = 0.01
    ruin.ruin_strategies.add().spatially_close_routes.num_ruined_routes = 2
    ruin.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
    ruin.recreate_strategy.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    ils.improve_perturbed_solution = True
    annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
    annealing.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    annealing.automatic_temperatures = True
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()


_STATUS = {
    routing_enums_pb2.RoutingSearchStatus.ROUTING_OPTIMAL: SolveStatus.OPTIMAL,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_SUCCESS: SolveStatus.FEASIBLE,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_PARTIAL_SUCCESS_LOCAL_OPTIMUM_NOT_REACHED: SolveStatus.FEASIBLE,
    routing_enums_pb2.RoutingSearchStatus.ROUTING_INVALID: SolveStatus.INVALID,
}


def _initial_assignment(m: _Model) -> object | None:
    routes = list(m.instance.initial_routes)
    if not any(routes):
        return None
    routes += [()] * (len(m.instance.vehicles) - len(routes))
    # a visit twice in the warm start makes OR-Tools reject all of it ("Index N is used multiple times")
    taken: set[int] = set()
    as_indices = [[m.visit_index(k) for k in unique_in_order(route, taken)] for route in routes]
    assignment: object | None = m.routing.ReadAssignmentFromRoutes(as_indices, True)  # ignore inactive indices
    return assignment


def _extract(m: _Model, solution: pywrapcp.Assignment, time: pywrapcp.RoutingDimension) -> list[RawRoute]:
    breaks: dict[int, list[tuple[int, int]]] = {}
    intervals = solution.IntervalVarContainer()
    for i in range(intervals.Size()):
        element = intervals.Element(i)
        if element.PerformedValue():
            vehicle = int(element.Var().Name().split()[1])
            breaks.setdefault(vehicle, []).append((element.StartValue(), element.DurationValue()))
    routes = []
    for v in range(len(m.instance.vehicles)):
        index = m.routing.Start(v)
        start = solution.Value(time.CumulVar(index))
        visits, starts = [], []
        index = solution.Value(m.routing.NextVar(index))
        while not m.routing.IsEnd(index):
            visits.append(m.manager.IndexToNode(index) - m.depot_count)
            starts.append(solution.Value(time.CumulVar(index)))
            index = solution.Value(m.routing.NextVar(index))
        end = solution.Value(time.CumulVar(index))
        routes.append(RawRoute(v, tuple(visits), tuple(starts), start, end, tuple(sorted(breaks.get(v, [])))))
    return routes


def solve_instance(
    instance: RoutingInstance, options: PlanningOptions, time_limit: float, require_warm_start: bool = False
) -> RawSolution:
    """Builds the routing model for ``instance`` and searches for ``time_limit`` seconds.

    With ``require_warm_start`` a warm start the model rejects gives NO_SOLUTION instead of a cold
    solve, so that a caller improving a plan piece by piece never trades it for a worse one.
    """
    if not instance.vehicles or not instance.visits:
        return RawSolution(SolveStatus.OPTIMAL, (), 0)
    ticks = Ticks(options.time_resolution)
    manager, depot_nodes, travel, service = _index_manager(instance, ticks)
    routing = pywrapcp.RoutingModel(manager)
    m = _Model(instance, options, ticks, manager, routing, len(depot_nodes), travel, service, _horizon(instance, ticks))
    travel_cb = _add_travel_cost(m)
    time = _add_time_dimension(m)
    _add_windows(m, time)
    _add_skills(m)
    _add_drop_penalties(m)
    _add_capacity(m)
    _add_max_travel(m, travel_cb)
    _add_breaks(m, time)
    _add_pins(m, time)
    _add_change_budget(m, time)

    params = _search_parameters(options, time_limit)
    routing.CloseModelWithParameters(params)
    initial = _initial_assignment(m)
    if initial is None and require_warm_start:
        return RawSolution(SolveStatus.NO_SOLUTION, (), 0)
    if initial is not None:
        solution = routing.SolveFromAssignmentWithParameters(initial, params)
    else:
        solution = routing.SolveWithParameters(params)
    status = _STATUS.get(routing.status(), SolveStatus.NO_SOLUTION)
    if solution is None:
        return RawSolution(SolveStatus.NO_SOLUTION if status != SolveStatus.INVALID else status, (), 0)
    return RawSolution(status, tuple(_extract(m, solution, time)), int(solution.ObjectiveValue()))
