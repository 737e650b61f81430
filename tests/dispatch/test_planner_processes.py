"""The planner's worker processes: a run happens in another process, at the lower priority, and a worker
that dies is replaced without losing the run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.dispatch.adapters.planner_processes import PlannerProcesses
from services.dispatch.planning import (
    GeoPoint,
    PlanningOptions,
    PlanningProblem,
    RoadFactorTravel,
    UnassignedReason,
    plan_routes,
)
from tests.planning.helpers import tech, visit


def where_and_how_nice() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def die_the_first_time(marker: str) -> int:
    path = Path(marker)
    if not path.exists():
        path.write_text("died once")
        os._exit(3)  # as the kernel's OOM killer or a crash in native code would end it
    return os.getpid()


async def test_a_run_happens_in_a_worker_process_at_lower_priority() -> None:
    processes = PlannerProcesses(workers=1, nice=7)
    try:
        pid, nice = await processes(where_and_how_nice)
        assert pid != os.getpid()
        assert nice == os.nice(0) + 7
        again, _ = await processes(where_and_how_nice)
        assert again == pid  # the worker is kept between runs
    finally:
        processes.close()


async def test_a_worker_that_dies_is_replaced_and_the_run_tried_again(tmp_path: Path) -> None:
    processes = PlannerProcesses(workers=1, nice=0)
    try:
        first, _ = await processes(where_and_how_nice)
        pid = await processes(die_the_first_time, str(tmp_path / "marker"))
        assert pid not in (first, os.getpid())
        assert (tmp_path / "marker").exists()
    finally:
        processes.close()


async def test_the_planner_answers_from_a_worker() -> None:
    simferopol, alushta = GeoPoint(44.95, 34.10), GeoPoint(44.68, 34.41)
    problem = PlanningProblem(
        technicians=(tech("anna", simferopol, skills={"refrigeration": 2}),),
        visits=(
            visit("compressor", alushta, required_skills={"refrigeration": 1}),
            visit("boiler", alushta, required_skills={"gas": 1}),  # nobody has the skill
        ),
    )
    processes = PlannerProcesses(workers=1, nice=10)
    try:
        plan = await processes(plan_routes, problem, RoadFactorTravel(), PlanningOptions(time_limit=1.0))
    finally:
        processes.close()
    assert [(r.technician_id, [s.visit_id for s in r.stops]) for r in plan.routes if r.stops] == [
        ("anna", ["compressor"])
    ]
    assert [(u.visit_id, u.reason) for u in plan.unassigned] == [("boiler", UnassignedReason.NO_SKILLED_TECHNICIAN)]


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        PlannerProcesses(workers=0, nice=0)


OWNER = """
import asyncio, os
from services.dispatch.adapters.planner_processes import PlannerProcesses
from tests.dispatch.test_planner_processes import where_and_how_nice

async def main():
    processes = PlannerProcesses(workers=1, nice=0)
    worker, _ = await processes(where_and_how_nice)
    print(worker, flush=True)
    os._exit(0)  # as a service killed mid-day: no close(), no shutdown

if __name__ == "__main__":
    asyncio.run(main())
"""


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_a_worker_ends_with_the_service_that_owns_it(tmp_path: Path) -> None:
    script = tmp_path / "owner.py"
    script.write_text(OWNER)
    root = str(Path(__file__).parents[2])
    environment = {**os.environ, "PYTHONPATH": root}
    # into files, not pipes: a worker left behind would hold a pipe open, and the run would wait for it, not fail
    out, err = tmp_path / "owner.out", tmp_path / "owner.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        owner = subprocess.run([sys.executable, str(script)], stdout=stdout, stderr=stderr, timeout=60, env=environment)
    assert owner.returncode == 0, err.read_text()
    worker = int(out.read_text().split()[0])
    deadline = time.monotonic() + 30  # checked every second: it goes in about one
    while _running(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _running(worker), "the planner's worker outlived its service"
