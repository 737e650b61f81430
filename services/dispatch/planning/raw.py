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
