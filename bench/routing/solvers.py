"""The three solvers of the benchmark on one VRPTW instance, each returning routes of customer numbers.

PyVRP and VROOM take integers: distances are scaled by SCALE, durations rounded up so that a route
feasible for them is feasible in double precision (the checker has the last word anyway).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from services.dispatch.planning import (
    GeoPoint,
    MatrixTravel,
    Metaheuristic,
    PlanningOptions,
    PlanningProblem,
    Priority,
    Shift,
    Technician,
    TimeWindow,
    Visit,
    plan_routes,
)

from .vrptw import VrptwInstance

SCALE = 1000
Routes = list[list[int]]
Solver = Callable[[VrptwInstance, float], Routes]


def _units(value: float) -> int:
    return round(float(value) * SCALE)


def _scaled(instance: VrptwInstance) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    d = instance.distances() * SCALE
    return np.round(d).astype(np.int64), np.ceil(d - 1e-6).astype(np.int64)


def fieldline_problem(instance: VrptwInstance) -> tuple[PlanningProblem, MatrixTravel]:
    points = tuple(GeoPoint(float(x), float(y)) for x, y in instance.coords)
    depot = points[0]
    shift = Shift(day=0, start=float(instance.ready[0]), end=float(instance.due[0]))
    technicians = tuple(
        Technician(id=f"v{k}", home=depot, shifts=(shift,), capacity=instance.capacity) for k in range(instance.fleet)
    )
    visits = tuple(
        Visit(
            id=str(c),
            location=points[c],
            service_duration=float(instance.service[c]),
            windows=(TimeWindow(float(instance.ready[c]), float(instance.due[c])),),
            demand=int(instance.demand[c]),
        )
        for c in range(1, instance.customers + 1)
    )
    return PlanningProblem(technicians, visits), MatrixTravel(points, instance.distances())


def fieldline_options(time_limit: float, customers: int) -> PlanningOptions:
    # Every customer must be served: dropping one costs far more than any route.
    must_serve = dict.fromkeys(Priority, 1e6)
    return PlanningOptions(
        time_limit=time_limit,
        time_resolution=1.0 / SCALE,
        drop_penalties=must_serve,
        metaheuristic=Metaheuristic.GUIDED_LOCAL_SEARCH,
        # Neighbourhoods of ~4 routes for 100 customers; ~100 visits per sub-problem at scale.
        subproblem_visits=40 if customers <= 200 else 100,
        # Every visit must be served here, so accepting a slightly longer plan cannot trade visits away:
        # larger ruins and accepting up to 8 % of the ruined part's cost did better than pure descent
        # on Solomon (R2, RC2).
        ruin_max_removed=25,
        ruin_threshold=0.08,
        # OR-Tools' guided local search from our plan pays most at short limits (0.4 s of 1 s on
        # Solomon); at 10 s and on 1,000 customers our ruin-and-recreate gains more per second.
        ruin_recreate_share=0.6 if time_limit < 5 else 0.9 if customers <= 200 else 0.95,
    )


def solve_fieldline(instance: VrptwInstance, time_limit: float) -> Routes:
    problem, travel = fieldline_problem(instance)
    plan = plan_routes(problem, travel, fieldline_options(time_limit, instance.customers))
    return [[int(s.visit_id) for s in route.stops] for route in plan.routes]


def solve_pyvrp(instance: VrptwInstance, time_limit: float) -> Routes:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    distance, duration = _scaled(instance)
    n = instance.customers
    locations = [pyvrp.Location(x=int(x * SCALE), y=int(y * SCALE)) for x, y in instance.coords]
    clients = [
        pyvrp.Client(
            location=c,
            delivery=[int(instance.demand[c])],
            service_duration=_units(instance.service[c]),
            tw_early=_units(instance.ready[c]),
            tw_late=_units(instance.due[c]),
        )
        for c in range(1, n + 1)
    ]
    depot = pyvrp.Depot(location=0)
    vehicle_type = pyvrp.VehicleType(
        num_available=instance.fleet,
        capacity=[instance.capacity],
        tw_early=_units(instance.ready[0]),
        tw_late=_units(instance.due[0]),
    )
    data = pyvrp.ProblemData(locations, clients, [depot], [vehicle_type], [distance], [duration])  # type: ignore[list-item]  # pyvrp stubs want ndarray[int]
    result = pyvrp.solve(data, stop=MaxRuntime(time_limit), seed=0, display=False)
    # Activity idx counts clients from 0; customer numbers in the file count from 1.
    return [[a.idx + 1 for a in route if a.is_client()] for route in result.best.routes()]


def solve_vroom(instance: VrptwInstance, time_limit: float) -> Routes:
    import vroom

    _, duration = _scaled(instance)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=duration)
    window = vroom.TimeWindow(_units(instance.ready[0]), _units(instance.due[0]))
    for k in range(instance.fleet):
        problem.add_vehicle(vroom.Vehicle(k, start=0, end=0, capacity=[instance.capacity], time_window=window))
    for c in range(1, instance.customers + 1):
        problem.add_job(
            vroom.Job(
                c,
                location=c,
                default_service=_units(instance.service[c]),
                delivery=[int(instance.demand[c])],
                time_windows=[vroom.TimeWindow(_units(instance.ready[c]), _units(instance.due[c]))],
            )
        )
    # One thread, like the other two; exploration level 5 is VROOM's most thorough search.
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit))
    frame = solution.routes
    jobs = frame[frame["type"] == "job"]
    return [[int(i) for i in group["id"]] for _, group in jobs.groupby("vehicle_id", sort=True)]


SOLVERS: dict[str, Solver] = {"fieldline": solve_fieldline, "pyvrp": solve_pyvrp, "vroom": solve_vroom}
