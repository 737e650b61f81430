"""Scale: route-based decomposition (placeholder, filled in below)."""

from __future__ import annotations

from .instance import RoutingInstance
from .model import PlanningOptions
from .ortools_model import RawSolution, solve_instance


def solve_decomposed(instance: RoutingInstance, options: PlanningOptions, time_limit: float) -> RawSolution:
    return solve_instance(instance, options, time_limit)
