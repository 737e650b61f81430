"""Plain input and output data of the planner.

Times are seconds (floats) from the start of the planning horizon (day 0, 00:00 local time); a shift
on day 2 from 08:00 to 17:00 is ``Shift(day=2, start=2 * 86400 + 8 * 3600, end=2 * 86400 + 17 * 3600)``.
The benchmarks use the same fields with their own time unit (see ``PlanningOptions.time_resolution``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Priority(IntEnum):
    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Service must start within [start, end]."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class BreakRule:
    """A break of ``duration`` starting anywhere in [earliest_start, latest_start] (equal: a fixed break)."""

    duration: float
    earliest_start: float
    latest_start: float


@dataclass(frozen=True, slots=True)
class Shift:
    day: int
    start: float
    end: float
    breaks: tuple[BreakRule, ...] = ()
    max_travel: float | None = None
    # Work may run past ``end`` by at most this much, at ``overtime_cost`` per second.
    overtime_limit: float = 0.0
    overtime_cost: float | None = None  # per second past ``end``, in travel seconds (None: the options')


@dataclass(frozen=True, slots=True)
class Technician:
    id: str
    home: GeoPoint
    shifts: tuple[Shift, ...]
    skills: Mapping[str, int] = field(default_factory=dict)
    end_location: GeoPoint | None = None  # None: back to ``home``
    capacity: int | None = None
    # the territories the technician belongs to (ids); none: a floater, at home in every territory
    territories: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Visit:
    id: str
    location: GeoPoint
    service_duration: float
    windows: tuple[TimeWindow, ...] = ()  # empty: any time within an eligible shift
    required_skills: Mapping[str, int] = field(default_factory=dict)
    earliest_day: int | None = None
    latest_day: int | None = None
    priority: Priority = Priority.P3
    sla_deadline: float | None = None  # soft: arriving later costs ``sla_cost`` per second
    demand: int = 0
    # What this visit's lateness and dropping it cost, in travel seconds (None: the options' defaults, by
    # priority); the dispatch service derives them from the contract's money terms (domain/costs.py).
    sla_cost: float | None = None  # per second late
    drop_penalty: float | None = None
    territory: str | None = None  # the site's territory (id); None: in no territory, no one crosses to it
    # The start the customer was told, widened by the tolerance: a re-plan that starts this visit of a previous
    # route outside it spends one of that route's ``max_moves_per_route`` (the windows keep it, where they do).
    promised: TimeWindow | None = None


@dataclass(frozen=True, slots=True)
class Pin:
    """Holds a visit on a technician's day when re-planning.

    ``position`` orders the pinned visits of one route among themselves (others may go between them);
    ``start_time`` fixes when service starts; ``frozen`` marks visits already started or committed:
    they keep their place at the head of the route, in ``position`` order, with nothing before them.
    """

    visit_id: str
    technician_id: str
    day: int
    position: int | None = None
    start_time: float | None = None
    frozen: bool = False


@dataclass(frozen=True, slots=True)
class RouteAssignment:
    """The order of visits of one technician-day in a previous plan (warm start, change budget)."""

    technician_id: str
    day: int
    visit_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TerritoryRule:
    """A visit outside its technician's territories (``domain.territories.crosses``): never served that way when
    ``forbidden``, else served at ``crossing_cost`` travel-seconds per visit on top of the route's cost."""

    crossing_cost: float = 0.0
    forbidden: bool = False


@dataclass(frozen=True, slots=True)
class PlanningProblem:
    technicians: tuple[Technician, ...]
    visits: tuple[Visit, ...]
    pins: tuple[Pin, ...] = ()
    previous_routes: tuple[RouteAssignment, ...] = ()  # warm start
    # At most this many visits of a technician-day's previous route may leave it, or start outside their
    # ``Visit.promised`` (None: no budget).
    max_moves_per_route: int | None = None
    territory_rule: TerritoryRule = TerritoryRule()


class FirstSolution(StrEnum):
    PARALLEL_CHEAPEST_INSERTION = "PARALLEL_CHEAPEST_INSERTION"
    LOCAL_CHEAPEST_INSERTION = "LOCAL_CHEAPEST_INSERTION"
    SAVINGS = "SAVINGS"
    PATH_CHEAPEST_ARC = "PATH_CHEAPEST_ARC"
    AUTOMATIC = "AUTOMATIC"


class Metaheuristic(StrEnum):
    GUIDED_LOCAL_SEARCH = "GUIDED_LOCAL_SEARCH"
    ITERATED_LOCAL_SEARCH = "ITERATED_LOCAL_SEARCH"  # ruin (SISR) and recreate
    GREEDY_DESCENT = "GREEDY_DESCENT"


def _default_drop_penalties() -> dict[Priority, float]:
    # In seconds of travel: a P1 visit is worth two days of driving, a P4 visit two hours.
    return {Priority.P1: 172_800.0, Priority.P2: 43_200.0, Priority.P3: 21_600.0, Priority.P4: 7_200.0}


@dataclass(frozen=True, slots=True)
class PlanningOptions:
    time_limit: float = 10.0  # seconds of wall time, always set
    first_solution: FirstSolution = FirstSolution.PARALLEL_CHEAPEST_INSERTION
    metaheuristic: Metaheuristic = Metaheuristic.GUIDED_LOCAL_SEARCH
    # Seconds per integer tick of the model; travel is rounded up so integer-feasible is real-feasible.
    time_resolution: float = 1.0
    drop_penalties: Mapping[Priority, float] = field(default_factory=_default_drop_penalties)
    sla_cost: float = 2.0  # per second late, in travel-second units
    overtime_cost: float = 1.0  # per second past the shift end
    balance_cost: float = 0.0  # per second of the longest route span (workload balance)
    # Above this many visits, or with at least ``lns_min_time`` seconds to spend, solve by
    # construction plus route-based large neighbourhood search on sub-problems (decomposition.py).
    decomposition_threshold: int = 400
    lns_min_time: float = 5.0
    subproblem_visits: int = 100
    seed: int = 0
    # Fresh plans (no pins, no previous routes, no balance cost) start from our own regret insertion
    # and ruin-and-recreate search (search.py) for this share of the time; OR-Tools, warm-started
    # from the result, gets the rest. 0 skips our search; the constructor still gives the warm start.
    # Field day 120 x 1,000 at 60 s, compiled search: 0.5 -> 330 h weighted unassigned, 0.9 -> 322 h.
    ruin_recreate_share: float = 0.9
    # Ruin size (visits removed per step, at most) and acceptance: a worse plan is accepted while within
    # this fraction of the route costs of the part one step ruins, falling to 0 over the time. Days with
    # more work than fits do best with pure descent (accepting worse mostly trades visits away);
    # must-serve VRPTW (Solomon) with ~0.08.
    ruin_max_removed: int = 15
    ruin_threshold: float = 0.0
    # Share of ruin-and-recreate steps that first start an idle technician-day's route with the seed visit.
    ruin_open_route: float = 0.1

    # The costs of one visit or shift, in travel seconds: its own where given, else these options' defaults.
    def drop_penalty_of(self, visit: Visit) -> float:
        return self.drop_penalties[visit.priority] if visit.drop_penalty is None else visit.drop_penalty

    def sla_cost_of(self, visit: Visit) -> float:
        return self.sla_cost if visit.sla_cost is None else visit.sla_cost

    def overtime_cost_of(self, shift: Shift) -> float:
        return self.overtime_cost if shift.overtime_cost is None else shift.overtime_cost


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution, search stopped by the time limit
    NO_SOLUTION = "no_solution"  # nothing found within the time limit, or the model is infeasible
    INVALID = "invalid"


class UnassignedReason(StrEnum):
    NO_SKILLED_TECHNICIAN = "no_skilled_technician"
    OUTSIDE_DAY_RANGE = "outside_day_range"
    OUTSIDE_TERRITORY = "outside_territory"  # skilled technicians on the day, none of them may cross to it
    OUTSIDE_EVERY_SHIFT = "outside_every_shift"
    WINDOW_UNREACHABLE = "window_unreachable"
    CAPACITY = "capacity"
    MAX_TRAVEL = "max_travel"
    PINNED_INFEASIBLE = "pinned_infeasible"
    CHANGE_BUDGET = "change_budget"
    NO_TIME_LEFT = "no_time_left"  # could fit alone, but the day is full of more valuable work
    NO_SOLUTION = "no_solution"


@dataclass(frozen=True, slots=True)
class Stop:
    visit_id: str
    arrival: float
    start: float
    departure: float
    travel_from_previous: float
    wait: float


@dataclass(frozen=True, slots=True)
class ScheduledBreak:
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Route:
    technician_id: str
    day: int
    start_time: float  # leaves the start location
    end_time: float  # back at the end location
    stops: tuple[Stop, ...]
    breaks: tuple[ScheduledBreak, ...]
    return_travel: float
    travel_time: float  # all legs including the way back
    overtime: float


@dataclass(frozen=True, slots=True)
class UnassignedVisit:
    visit_id: str
    priority: Priority
    reason: UnassignedReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlanKpis:
    travel_time: float
    assigned: int
    unassigned: int
    unassigned_priority_weight: float  # sum of drop penalties of the unassigned visits
    overtime: float
    sla_misses: int
    objective: float
    wall_time: float
    territory_crossings: int = 0  # visits served by a technician from outside the site's territory (priced ones)


@dataclass(frozen=True, slots=True)
class Plan:
    status: SolveStatus
    routes: tuple[Route, ...]
    unassigned: tuple[UnassignedVisit, ...]
    kpis: PlanKpis

    def route_assignments(self) -> tuple[RouteAssignment, ...]:
        """This plan as the ``previous_routes`` of the next re-plan."""
        return tuple(RouteAssignment(r.technician_id, r.day, tuple(s.visit_id for s in r.stops)) for r in self.routes)
