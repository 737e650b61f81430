"""Found by the assignment lifecycle's stateful test (tests/dispatch/test_lifecycle_stateful.py): on a tiny day the
compiled ruin-and-recreate writes one place past the end of a route's row (compiled_search._insert,
`routes[v, i] = routes[v, i - 1]` with i == the row's width). Compiled without bounds checks, that write lands on
whatever memory follows the array: in the stateful runs the process later died of it, once 'Aborted' inside the
planner, once 'Segmentation fault' in the main thread signing a token. The search is run here as plain Python
(NUMBA_DISABLE_JIT, in a process of its own), where the same index raises instead; it fails until the search keeps
to its arrays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# two technicians, three visits at one site (the day the stateful test re-planned): ruin-and-recreate overflows
DAY = """
from services.dispatch.planning import (
    GeoPoint, PlanningOptions, PlanningProblem, Priority, RoadFactorTravel, Shift, Technician, TimeWindow, Visit,
    plan_routes,
)

site = GeoPoint(44.97, 34.12)
shift = (Shift(day=0, start=0.0, end=86400.0),)
technicians = tuple(
    Technician(id=f"t{k}", home=GeoPoint(44.95, 34.10), shifts=shift, skills={"refrigeration": 3}) for k in range(2)
)
needs = {"refrigeration": 2}
visits = (
    Visit(id="a", location=site, service_duration=2700.0, windows=(TimeWindow(9300.0, 16500.0),),
          required_skills=needs, priority=Priority.P3),
    Visit(id="b", location=site, service_duration=1800.0, windows=(TimeWindow(0.0, 86400.0),),
          required_skills=needs, priority=Priority.P4),
    Visit(id="c", location=site, service_duration=2700.0, windows=(TimeWindow(42000.0, 70800.0),),
          required_skills=needs, priority=Priority.P3),
)
plan = plan_routes(
    PlanningProblem(technicians=technicians, visits=visits), RoadFactorTravel(road_factor=1.35),
    PlanningOptions(time_limit=0.2),
)
assert sorted(s.visit_id for r in plan.routes for s in r.stops) == ["a", "b", "c"], plan
"""


def test_the_compiled_search_stays_inside_its_arrays_on_a_three_visit_day() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": str(root)}
    ran = subprocess.run(
        [sys.executable, "-c", DAY], env=env, cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
