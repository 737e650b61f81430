"""The index-based form of a planning problem that the OR-Tools model and the decomposition share.

A vehicle is one technician-day (one shift); nodes index the travel matrix (start/end locations
first, then visits). Sub-problems of the decomposition are the same structure over a subset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.dispatch.domain.territories import crosses

from .model import Pin, PlanningProblem, Shift, Technician, Visit
from .travel import FloatArray, TravelTimeProvider


class Ticks:
    """Converts seconds to integer ticks so that an integer-feasible plan is feasible in real time."""

    def __init__(self, resolution: float) -> None:
        self.resolution = resolution

    def up(self, seconds: float) -> int:
        return math.ceil(seconds / self.resolution - 1e-9)

    def down(self, seconds: float) -> int:
        return math.floor(seconds / self.resolution + 1e-9)

    def up_array(self, seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        return np.ceil(seconds / self.resolution - 1e-9).astype(np.int64)


@dataclass(frozen=True, slots=True)
class VehicleShift:
    technician: Technician
    shift: Shift
    start_node: int
    end_node: int


@dataclass(frozen=True, slots=True)
class RoutingInstance:
    vehicles: tuple[VehicleShift, ...]
    visits: tuple[Visit, ...]
    visit_nodes: tuple[int, ...]  # node of each visit in ``travel``
    travel: FloatArray  # seconds between nodes
    allowed: tuple[tuple[int, ...], ...]  # per visit: vehicles it may go on (skills, days, pins)
    pins: dict[int, Pin] = field(default_factory=dict)  # visit position -> pin (vehicle given by allowed)
    initial_routes: tuple[tuple[int, ...], ...] = ()  # per vehicle: visit positions (warm start)
    previous_routes: tuple[tuple[int, ...], ...] = ()  # per vehicle: visit positions (change budget)
    max_moves_per_route: int | None = None
    # per visit: the vehicles that would cross into its territory to serve it, each at ``crossing_cost``
    crossing: tuple[frozenset[int], ...] = ()
    crossing_cost: float = 0.0

    def subset(self, vehicle_ids: list[int], visit_ids: list[int], routes: list[list[int]]) -> RoutingInstance:
        """The sub-problem over some vehicles and visits; ``routes`` (per chosen vehicle) warm-start it."""
        vehicle_pos = {v: k for k, v in enumerate(vehicle_ids)}
        visit_pos = {i: k for k, i in enumerate(visit_ids)}
        return RoutingInstance(
            vehicles=tuple(self.vehicles[v] for v in vehicle_ids),
            visits=tuple(self.visits[i] for i in visit_ids),
            visit_nodes=tuple(self.visit_nodes[i] for i in visit_ids),
            travel=self.travel,
            allowed=tuple(tuple(vehicle_pos[v] for v in self.allowed[i] if v in vehicle_pos) for i in visit_ids),
            pins={visit_pos[i]: p for i, p in self.pins.items() if i in visit_pos},
            initial_routes=tuple(tuple(visit_pos[i] for i in route if i in visit_pos) for route in routes),
            previous_routes=tuple(
                tuple(visit_pos[i] for i in self.previous_routes[v] if i in visit_pos) for v in vehicle_ids
            )
            if self.previous_routes
            else (),
            max_moves_per_route=self.max_moves_per_route,
            crossing=tuple(frozenset(vehicle_pos[v] for v in self.crossing[i] if v in vehicle_pos) for i in visit_ids)
            if self.crossing
            else (),
            crossing_cost=self.crossing_cost,
        )


def is_skilled(technician: Technician, visit: Visit) -> bool:
    return all(technician.skills.get(skill, -1) >= level for skill, level in visit.required_skills.items())


def in_day_range(shift: Shift, visit: Visit) -> bool:
    return (visit.earliest_day is None or shift.day >= visit.earliest_day) and (
        visit.latest_day is None or shift.day <= visit.latest_day
    )


def build_instance(problem: PlanningProblem, travel: TravelTimeProvider) -> RoutingInstance:
    """Numbers the vehicles and nodes, asks the provider for one matrix, works out who may serve what."""
    points: list[object] = []
    point_node: dict[object, int] = {}

    def node_of(point: object) -> int:
        if point not in point_node:
            point_node[point] = len(points)
            points.append(point)
        return point_node[point]

    vehicles = []
    for tech in problem.technicians:
        for shift in sorted(tech.shifts, key=lambda s: s.start):
            start = node_of(tech.home)
            end = node_of(tech.end_location or tech.home)
            vehicles.append(VehicleShift(tech, shift, start, end))
    # Visits get their own node even when they share a location: a node is visited at most once.
    visit_nodes = []
    for visit in problem.visits:
        visit_nodes.append(len(points))
        points.append(visit.location)
    matrix = np.asarray(travel.durations(points, points), dtype=np.float64)  # type: ignore[arg-type]

    vehicle_of = {(v.technician.id, v.shift.day): k for k, v in enumerate(vehicles)}
    visit_pos = {v.id: k for k, v in enumerate(problem.visits)}
    pins = {visit_pos[p.visit_id]: p for p in problem.pins if p.visit_id in visit_pos}
    rule = problem.territory_rule
    allowed: list[tuple[int, ...]] = []
    crossing: list[frozenset[int]] = []
    for k, visit in enumerate(problem.visits):
        crossing.append(
            frozenset(i for i, v in enumerate(vehicles) if crosses(visit.territory, v.technician.territories))
            if visit.territory is not None and (rule.forbidden or rule.crossing_cost > 0)
            else frozenset()
        )
        pin = pins.get(k)
        if pin is not None:  # a dispatcher's pin wins over the territory rule, as over skills
            pinned = vehicle_of.get((pin.technician_id, pin.day))
            allowed.append((pinned,) if pinned is not None else ())
            continue
        allowed.append(
            tuple(
                i
                for i, v in enumerate(vehicles)
                if is_skilled(v.technician, visit)
                and in_day_range(v.shift, visit)
                and not (rule.forbidden and i in crossing[k])
            )
        )

    previous: list[list[int]] = [[] for _ in vehicles]
    for assignment in problem.previous_routes:
        vehicle = vehicle_of.get((assignment.technician_id, assignment.day))
        if vehicle is not None:
            previous[vehicle] = [visit_pos[i] for i in assignment.visit_ids if i in visit_pos]
    has_previous = any(previous)
    return RoutingInstance(
        vehicles=tuple(vehicles),
        visits=problem.visits,
        visit_nodes=tuple(visit_nodes),
        travel=matrix,
        allowed=tuple(allowed),
        pins=pins,
        initial_routes=tuple(tuple(r) for r in previous) if has_previous else (),
        previous_routes=tuple(tuple(r) for r in previous) if has_previous else (),
        max_moves_per_route=problem.max_moves_per_route,
        crossing=tuple(crossing) if rule.crossing_cost > 0 and not rule.forbidden and any(crossing) else (),
        crossing_cost=rule.crossing_cost,
    )
