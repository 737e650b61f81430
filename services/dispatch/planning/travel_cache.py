"""Road travel times from a routing engine, behind a bounded cache of the pairs already asked for.

A routing engine (``RoadEngine``: OSRM's table, Valhalla's matrix, adapters/) answers in milliseconds to
seconds per call, where the great-circle formula answers in microseconds; the reactive insertion asks for
travel from every candidate's route to the new job on each emergency, and the planner for a full matrix on
each re-plan of the same sites. ``CachedRoadTravel`` keeps every pair it was told, keyed by coordinates
rounded to ``decimals`` (5: about a metre), and asks the engine only for the rows and columns it lacks.

One cache per process: the dispatch service's planner and reactive path share the one ``DispatchUseCases``
builds; another replica (or a planner worker process) has its own and fills it from the engine, which is
fine: the engine is the truth, the cache only saves asking twice. Worker processes get a ``MatrixTravel``
over the problem's points (``portable``), made here before the problem is handed over.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .model import GeoPoint, PlanningProblem
from .travel import FloatArray, MatrixTravel, RoadFactorTravel, TravelTimeProvider, coordinates

Key = tuple[float, float]


class RoadEngine(Protocol):
    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        """Seconds of driving between (n, 2) and (m, 2) lat/lon arrays, shape (n, m)."""
        ...


class TravelModel(TravelTimeProvider, Protocol):
    """What the service plans and places with: the planner's matrix and the reactive insertion's arrays."""

    def durations_between(self, origins: FloatArray, destinations: FloatArray) -> FloatArray: ...


class CachedRoadTravel:
    """A ``RoadEngine``'s durations, each pair asked for once while it stays among the ``max_pairs`` kept.

    Rows (one per origin) are evicted least recently used first. Safe to share between the event loop and
    the planner's thread: one lock around the cache (the engine is called outside it).
    """

    def __init__(self, engine: RoadEngine, max_pairs: int = 1_000_000, decimals: int = 5) -> None:
        self.engine = engine
        self.max_pairs = max_pairs
        self.decimals = decimals
        self._rows: OrderedDict[Key, dict[Key, float]] = OrderedDict()
        self._pairs = 0
        self._lock = threading.Lock()
        self.engine_calls = 0  # how often the engine was asked (the cache's effect, for tests and metrics)

    @property
    def pairs(self) -> int:
        return self._pairs

    def durations(self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint]) -> FloatArray:
        return self.durations_between(coordinates(origins), coordinates(destinations))

    def durations_between(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        rows = [self._key(p) for p in np.asarray(origins, dtype=np.float64).reshape(-1, 2)]
        cols = [self._key(p) for p in np.asarray(destinations, dtype=np.float64).reshape(-1, 2)]
        result = np.empty((len(rows), len(cols)), dtype=np.float64)
        missing_rows: dict[Key, None] = {}
        missing_cols: dict[Key, None] = {}
        with self._lock:
            for i, row_key in enumerate(rows):
                row = self._rows.get(row_key)
                if row is not None:
                    self._rows.move_to_end(row_key)
                for j, col_key in enumerate(cols):
                    seconds = row.get(col_key) if row is not None else None
                    if seconds is None:
                        missing_rows[row_key] = None
                        missing_cols[col_key] = None
                    else:
                        result[i, j] = seconds
        if not missing_rows:
            return result
        # one engine call for the block of origins and destinations that had any pair missing (a little more
        # than needed when the gaps are scattered, all of it kept)
        ask_rows, ask_cols = list(missing_rows), list(missing_cols)
        answer = np.asarray(self.engine.table(np.array(ask_rows), np.array(ask_cols)), dtype=np.float64)
        fresh = {(r, c): float(answer[i, j]) for i, r in enumerate(ask_rows) for j, c in enumerate(ask_cols)}
        with self._lock:
            self.engine_calls += 1
            for (row_key, col_key), seconds in fresh.items():
                self._store(row_key, col_key, seconds)
        for i, row_key in enumerate(rows):
            if row_key in missing_rows:
                for j, col_key in enumerate(cols):
                    found = fresh.get((row_key, col_key))
                    if found is not None:
                        result[i, j] = found
        return result

    def _key(self, point: FloatArray) -> Key:
        return (round(float(point[0]), self.decimals), round(float(point[1]), self.decimals))

    def _store(self, row_key: Key, col_key: Key, seconds: float) -> None:
        row = self._rows.get(row_key)
        if row is None:
            row = self._rows[row_key] = {}
        else:
            self._rows.move_to_end(row_key)
        if col_key not in row:
            self._pairs += 1
        row[col_key] = seconds
        while self._pairs > self.max_pairs and len(self._rows) > 1:
            _, evicted = self._rows.popitem(last=False)
            self._pairs -= len(evicted)


def problem_points(problem: PlanningProblem) -> tuple[GeoPoint, ...]:
    """Every point the planner asks travel between: the technicians' starts and ends, and the visits."""
    points: dict[GeoPoint, None] = {}
    for tech in problem.technicians:
        points[tech.home] = None
        points[tech.end_location or tech.home] = None
    for visit in problem.visits:
        points[visit.location] = None
    return tuple(points)


def portable(travel: TravelTimeProvider, problem: PlanningProblem) -> TravelTimeProvider:
    """A provider the planner's worker processes can take: the formula as it is (picklable, no I/O), anything
    else as the matrix over the problem's points, asked for here (through the cache) before the hand-over."""
    if isinstance(travel, RoadFactorTravel | MatrixTravel):
        return travel
    points = problem_points(problem)
    return MatrixTravel(points, np.asarray(travel.durations(points, points), dtype=np.float64))
