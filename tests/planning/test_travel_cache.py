"""The road engines' matrix cache, without I/O: an engine that counts what it is asked (answering with the
great-circle formula) stands in for OSRM or Valhalla, whose adapters are tested against real servers in
tests/dispatch/test_road_travel.py."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from services.dispatch.planning import (
    GeoPoint,
    MatrixTravel,
    PlanningProblem,
    RoadFactorTravel,
    Shift,
    Technician,
    Visit,
)
from services.dispatch.planning.travel import FloatArray, coordinates
from services.dispatch.planning.travel_cache import (
    CachedRoadTravel,
    RoadEngineDown,
    RoadEngineError,
    portable,
    problem_points,
)

POINTS = [GeoPoint(44.95 + 0.01 * k, 34.10 + 0.02 * k) for k in range(6)]


class CountingEngine:
    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []
        self.formula = RoadFactorTravel()

    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        self.asked.append((len(origins), len(destinations)))
        return self.formula.durations_between(origins, destinations)


def test_each_pair_is_asked_of_the_engine_once_and_only_the_missing_block_is_asked() -> None:
    engine = CountingEngine()
    travel = CachedRoadTravel(engine)
    first = travel.durations(POINTS[:3], POINTS[:3])
    assert np.allclose(first, engine.formula.durations(POINTS[:3], POINTS[:3]))
    assert engine.asked == [(3, 3)]

    assert np.array_equal(travel.durations(POINTS[2::-1], POINTS[:2]), first[2::-1, :2])
    assert engine.asked == [(3, 3)]  # all known: no call

    # two new destinations: one call for the three origins and those two only
    wider = travel.durations(POINTS[:3], POINTS[:5])
    assert engine.asked == [(3, 3), (3, 2)]
    assert np.allclose(wider, engine.formula.durations(POINTS[:3], POINTS[:5]))

    # the key is rounded to 5 decimals (about a metre): a point a few centimetres off is the same point
    nudged = coordinates(POINTS[:1]) + 1e-7
    travel.durations_between(nudged, coordinates(POINTS[:1]))
    assert len(engine.asked) == 2


def test_the_cache_is_bounded_and_forgets_the_least_recently_used_points_first() -> None:
    engine = CountingEngine()
    travel = CachedRoadTravel(engine, max_points=4)
    travel.durations(POINTS[:2], POINTS[:2])
    travel.durations(POINTS[2:4], POINTS[2:4])
    travel.durations(POINTS[:1], POINTS[:1])  # point 0 used last: point 1 is now the least recently used
    travel.durations(POINTS[4:5], POINTS[4:5])  # takes point 1's row and column
    assert travel.points == 4
    calls = len(engine.asked)
    travel.durations(POINTS[2:4], POINTS[2:4])
    travel.durations(POINTS[:1], POINTS[:1])
    assert len(engine.asked) == calls  # kept
    moved_in = travel.durations(POINTS[4:5], POINTS[:1])  # point 4 sits where point 1 was: nothing of 1's left over
    assert moved_in == pytest.approx(engine.formula.durations(POINTS[4:5], POINTS[:1]))
    assert len(engine.asked) == calls + 1
    again = travel.durations(POINTS[1:2], POINTS[:1])
    assert again == pytest.approx(engine.formula.durations(POINTS[1:2], POINTS[:1]))
    assert len(engine.asked) == calls + 2  # forgotten, asked again

    # more distinct points in one request than the cache holds: straight to the engine, the cache as it was
    wide = travel.durations(POINTS, POINTS[:1])
    assert engine.asked[-1] == (6, 1) and wide == pytest.approx(engine.formula.durations(POINTS, POINTS[:1]))
    assert travel.points == 4


class FailingEngine(CountingEngine):
    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        self.asked.append((len(origins), len(destinations)))
        raise RoadEngineError("Locations are in unconnected regions")


def test_what_the_engine_cannot_answer_the_fallback_does_and_nothing_of_it_is_kept() -> None:
    engine = FailingEngine()
    fallback = RoadFactorTravel(road_factor=1.5)
    travel = CachedRoadTravel(engine, fallback=fallback)
    assert travel.durations(POINTS[:2], POINTS[2:4]) == pytest.approx(fallback.durations(POINTS[:2], POINTS[2:4]))
    travel.durations(POINTS[:2], POINTS[2:4])
    assert engine.asked == [(2, 2), (2, 2)] and travel.fallbacks == 2  # asked again: it may be back
    with pytest.raises(RoadEngineError, match="unconnected"):
        CachedRoadTravel(FailingEngine()).durations(POINTS[:1], POINTS[1:2])


class DownEngine(CountingEngine):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        self.asked.append((len(origins), len(destinations)))
        if self.down:
            raise RoadEngineDown("timed out")
        return self.formula.durations_between(origins, destinations)


def test_an_engine_found_down_is_left_alone_for_a_while_then_asked_again() -> None:
    now = [0.0]
    engine = DownEngine()
    travel = CachedRoadTravel(engine, fallback=RoadFactorTravel(), rest_after_outage_s=30.0, monotonic=lambda: now[0])
    travel.durations(POINTS[:1], POINTS[1:2])
    now[0] = 29.0
    travel.durations(POINTS[:1], POINTS[2:3])
    assert engine.asked == [(1, 1)] and travel.fallbacks == 2  # no second wait for a hung engine
    engine.down = False
    now[0] = 30.5
    travel.durations(POINTS[:1], POINTS[2:3])
    assert engine.asked == [(1, 1), (1, 1)] and travel.fallbacks == 2


def day_problem() -> PlanningProblem:
    shift = (Shift(day=0, start=0.0, end=36_000.0),)
    technicians = (
        Technician("t1", POINTS[0], shift),
        Technician("t2", POINTS[1], shift, end_location=POINTS[5]),
    )
    visits = (Visit("a", POINTS[2], 600.0), Visit("b", POINTS[3], 600.0), Visit("c", POINTS[2], 600.0))
    return PlanningProblem(technicians=technicians, visits=visits)


def test_the_planners_worker_gets_the_engines_matrix_over_the_problems_points_ready_made() -> None:
    problem = day_problem()
    assert set(problem_points(problem)) == {POINTS[0], POINTS[1], POINTS[5], POINTS[2], POINTS[3]}
    formula = RoadFactorTravel()
    assert portable(formula, problem) is formula  # no I/O behind it: goes as it is

    engine = CountingEngine()
    ready = portable(CachedRoadTravel(engine), problem)
    assert isinstance(ready, MatrixTravel) and engine.asked == [(5, 5)]
    copy = pickle.loads(pickle.dumps(ready))  # what the process pool does with it
    points = list(problem_points(problem))
    assert copy.durations(points, points) == pytest.approx(formula.durations(points, points))
