"""A solution in the routing model's integer ticks, before it becomes a ``Plan``: shared by the OR-Tools
model, our own constructor and search, and the decomposition."""

from __future__ import annotations

from dataclasses import dataclass

from .model import SolveStatus


@dataclass(frozen=True, slots=True)
class RawRoute:
    """A route in ticks: the visit positions in order and when service starts at each."""

    vehicle: int
    visits: tuple[int, ...]
    service_starts: tuple[int, ...]
    start: int
    end: int
    breaks: tuple[tuple[int, int], ...]  # (start, duration)


@dataclass(frozen=True, slots=True)
class RawSolution:
    status: SolveStatus
    routes: tuple[RawRoute, ...]
    objective: int


def each_visit_once(solution: RawSolution) -> RawSolution:
    """The solution with every visit in one route only, where it first appears (routes in vehicle order): a
    visit booked twice would be written twice. The dropped stop's time stays as waiting, never as overlap."""
    seen: set[int] = set()
    routes = []
    for route in solution.routes:
        keep = [k for k, visit in enumerate(route.visits) if visit not in seen]
        seen.update(route.visits)
        if len(keep) == len(route.visits):
            routes.append(route)
            continue
        routes.append(
            RawRoute(
                route.vehicle,
                tuple(route.visits[k] for k in keep),
                tuple(route.service_starts[k] for k in keep),
                route.start,
                route.end,
                route.breaks,
            )
        )
    return RawSolution(solution.status, tuple(routes), solution.objective)


def unique_in_order(route: tuple[int, ...] | list[int], taken: set[int]) -> list[int]:
    """`route` without what `taken` already holds or what it repeats itself; `taken` grows by what is kept."""
    kept = []
    for visit in route:
        if visit not in taken:
            taken.add(visit)
            kept.append(visit)
    return kept
