"""Fieldline route planner: OR-Tools routing for planned days, vectorised insertion for emergencies.

Pure library: plain dataclasses in and out, no I/O; call it off the event loop (run_in_executor).
Planned days: ``plan_routes(PlanningProblem, TravelTimeProvider, PlanningOptions) -> Plan``.
Emergencies: ``earliest_feasible_insertion(LiveDay.build(live_routes), UrgentJob, travel, now)
-> InsertionDecision``.
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
    TerritoryRule,
    TimeWindow,
    UnassignedReason,
    UnassignedVisit,
    Visit,
)
from .reactive import (
    EARLIEST_ARRIVAL,
    ArrayTravelTimeProvider,
    DetourAllowance,
    Insertion,
    InsertionDecision,
    LiveBreak,
    LiveDay,
    LiveRoute,
    LiveStop,
    UrgentJob,
    earliest_feasible_insertion,
)
from .solver import plan_routes
from .travel import MatrixTravel, RoadFactorTravel, SpeedBand, TravelTimeProvider

__all__ = [
    "EARLIEST_ARRIVAL",
    "ArrayTravelTimeProvider",
    "BreakRule",
    "DetourAllowance",
    "FirstSolution",
    "GeoPoint",
    "Insertion",
    "InsertionDecision",
    "LiveBreak",
    "LiveDay",
    "LiveRoute",
    "LiveStop",
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
    "TerritoryRule",
    "TimeWindow",
    "TravelTimeProvider",
    "UnassignedReason",
    "UnassignedVisit",
    "UrgentJob",
    "Visit",
    "earliest_feasible_insertion",
    "plan_routes",
]
