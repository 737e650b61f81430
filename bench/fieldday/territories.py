"""python -m bench.fieldday.territories --technicians 120 --visits 1000 --time-limit 20

What the territory rule costs and buys on the generated field day: towns as territories, Simferopol and
Sevastopol each cut in two at their centre's meridian (so crossing is a short drive, not a trip between towns).
Each technician belongs to the territory of their home, each visit lies in its site's. One plan per rule:
no rule, a cost of one second per crossing (a control: any cost makes per-technician arc costs in the routing
model), 30 minutes per crossing, and crossing forbidden; then two re-plans of the plan made
without a rule (the routing model from the current routes, the service's path), without and with 30 minutes per
crossing. Prints one JSON line per plan.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace

from services.dispatch.domain.territories import crosses
from services.dispatch.planning import (
    PlanningOptions,
    PlanningProblem,
    RoadFactorTravel,
    RouteAssignment,
    TerritoryRule,
    plan_routes,
)
from services.dispatch.planning.model import GeoPoint

from .generator import TOWNS, field_day

SPLIT = {"Simferopol", "Sevastopol"}


def territory_of(point: GeoPoint) -> str:
    town = min(TOWNS, key=lambda t: math.hypot(t.centre.lat - point.lat, t.centre.lon - point.lon))
    if town.name in SPLIT:
        return f"{town.name}-{'W' if point.lon < town.centre.lon else 'E'}"
    return town.name


def with_territories(problem: PlanningProblem) -> PlanningProblem:
    return replace(
        problem,
        technicians=tuple(replace(t, territories=frozenset({territory_of(t.home)})) for t in problem.technicians),
        visits=tuple(replace(v, territory=territory_of(v.location)) for v in problem.visits),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--technicians", type=int, default=120)
    parser.add_argument("--visits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args(argv)
    problem = with_territories(field_day(args.technicians, args.visits, args.seed))
    techs = {t.id: t for t in problem.technicians}
    visits = {v.id: v for v in problem.visits}
    travel = RoadFactorTravel()
    # numba compiles the search on first use: once, untimed
    plan_routes(replace(problem, visits=problem.visits[:20]), travel, PlanningOptions(time_limit=1.0))
    rules = {
        "none": TerritoryRule(),
        "1 s a crossing": TerritoryRule(crossing_cost=1.0),
        "30 min a crossing": TerritoryRule(crossing_cost=1800.0),
        "forbidden": TerritoryRule(forbidden=True),
    }
    first: tuple[RouteAssignment, ...] = ()
    runs = [(name, rule, False) for name, rule in rules.items()]
    # re-plans (the service's path: the routing model from the current routes) of the plan made without a rule
    runs += [("re-plan, none", TerritoryRule(), True), ("re-plan, 30 min a crossing", rules["30 min a crossing"], True)]
    for name, rule, again in runs:
        asked = replace(problem, territory_rule=rule, previous_routes=first if again else ())
        plan = plan_routes(asked, travel, PlanningOptions(time_limit=args.time_limit))
        if name == "none":
            first = plan.route_assignments()
        crossings = sum(
            crosses(visits[s.visit_id].territory, techs[r.technician_id].territories)
            for r in plan.routes
            for s in r.stops
        )
        result = {
            "rule": name,
            "assigned": plan.kpis.assigned,
            "weighted_unassigned_h": round(plan.kpis.unassigned_priority_weight / 3600, 1),
            "travel_h": round(plan.kpis.travel_time / 3600, 1),
            "crossings": crossings,
            "wall_s": round(plan.kpis.wall_time, 1),
        }
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
