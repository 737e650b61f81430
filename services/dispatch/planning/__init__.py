"""Fieldline route planner: OR-Tools routing for planned days, vectorised insertion for emergencies.

Pure library: plain dataclasses in and out, no I/O; call it off the event loop (run_in_executor).
"""

from .model import (
    BreakRule,
    FirstSolution,
    GeoPoint,
    Metaheuristic,
    Pin,
    Plan,
    PlanKpis,
    PlanningOptions,
    PlanningProblem,
    Priority,
    Route,
    RouteAssignment,
    ScheduledBreak,
    Shift,
    SolveStatus,
    Stop,
    Technician,
    TimeWindow,
    UnassignedReason,
    UnassignedVisit,
    Visit,
)
from .solver import plan_routes
from .travel import MatrixTravel, RoadFactorTravel, SpeedBand, TravelTimeProvider

__all__ = [
    "BreakRule",
    "FirstSolution",
    "GeoPoint",
    "MatrixTravel",
    "Metaheuristic",
    "Pin",
    "Plan",
    "PlanKpis",
    "PlanningOptions",
    "PlanningProblem",
    "Priority",
    "RoadFactorTravel",
    "Route",
    "RouteAssignment",
    "ScheduledBreak",
    "Shift",
    "SolveStatus",
    "SpeedBand",
    "Stop",
    "Technician",
    "TimeWindow",
    "TravelTimeProvider",
    "UnassignedReason",
    "UnassignedVisit",
    "Visit",
    "plan_routes",
]
