"""Road travel times from a routing engine, behind a bounded cache of the pairs already asked for.

A routing engine (``RoadEngine``: OSRM's table, Valhalla's matrix, adapters/) answers in milliseconds to
seconds per call, where the great-circle formula answers in microseconds; the reactive insertion asks for
travel from every candidate's route to the new job on each emergency, and the planner for a full matrix on
each re-plan of the same sites. ``CachedRoadTravel`` keeps every pair it was told between the points it
keeps, keyed by coordinates rounded to ``decimals`` (5: about a metre), and asks the engine only for the
rows and columns it lacks.

One cache per process: the dispatch service's planner and reactive path share the one ``DispatchUseCases``
builds; another replica has its own and fills it from the engine, which is fine: the engine is the truth,
the cache only saves asking twice. The planner's worker processes get no cache but a ``MatrixTravel`` over
the problem's points (``portable``), made through the service's cache before the problem is handed over.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .model import GeoPoint, PlanningProblem
from .travel import FloatArray, MatrixTravel, RoadFactorTravel, TravelTimeProvider, coordinates

log = logging.getLogger(__name__)

Key = tuple[float, float]


class RoadEngineError(RuntimeError):
    """The engine could not answer this request (e.g. refused a location off every road it knows)."""


class RoadEngineDown(RoadEngineError):
    """The engine could not be reached or failed (connection, timeout, a 5xx): the next requests would fail too."""


class RoadEngine(Protocol):
    def table(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        """Seconds of driving between (n, 2) and (m, 2) lat/lon arrays, shape (n, m)."""
        ...


class TravelModel(TravelTimeProvider, Protocol):
    """What the service plans and places with: the planner's matrix and the reactive insertion's arrays."""

    def durations_between(self, origins: FloatArray, destinations: FloatArray) -> FloatArray: ...


class CachedRoadTravel:
    """A ``RoadEngine``'s durations, each pair asked for once while both its points stay among the ``max_points``
    kept.

    The pairs live in one square float32 matrix over the points seen (NaN: not asked yet), grown as needed up to
    ``max_points`` (4,000: 64 MB); a lookup is a numpy take, so a re-plan's 1,000-point matrix costs milliseconds
    once known. Beyond the bound the least recently used point gives its row and column to the new one; a single
    request over more distinct points than that goes to the engine uncached. Safe to share between the event loop
    and the planner's thread: the engine is called outside the lock, its answer stored under it.
    """

    def __init__(
        self,
        engine: RoadEngine,
        max_points: int = 4_000,
        decimals: int = 5,
        fallback: TravelModel | None = None,
        rest_after_outage_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``fallback``: answers (uncached) what the engine could not, so that an engine down or a site off its map
        delays no emergency; without one the engine's error is raised. After the engine was found down it is left
        alone for ``rest_after_outage_s`` (the fallback answers at once): a hung engine would otherwise hold every
        request, on the event loop too, for the client's timeout."""
        self.engine = engine
        self.fallback = fallback
        self.rest_after_outage_s = rest_after_outage_s
        self.monotonic = monotonic
        self._resting_until = -math.inf
        self.max_points = max_points
        self.decimals = decimals
        self._slots: OrderedDict[Key, int] = OrderedDict()  # least recently used first
        self._free: list[int] = []
        self._matrix = np.full((0, 0), np.nan, dtype=np.float32)
        self._lock = threading.Lock()
        self.engine_calls = 0  # how often the engine was asked (the cache's effect, for tests and metrics)
        self.fallbacks = 0  # how often the fallback answered instead

    @property
    def points(self) -> int:
        return len(self._slots)

    def durations(self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint]) -> FloatArray:
        return self.durations_between(coordinates(origins), coordinates(destinations))

    def durations_between(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 2)
        destinations = np.asarray(destinations, dtype=np.float64).reshape(-1, 2)
        rows, cols = self._keys(origins), self._keys(destinations)
        if len(set(rows) | set(cols)) > self.max_points:
            return self._ask(origins, destinations)[0].astype(np.float64)
        with self._lock:
            row_slots, col_slots = self._slots_of(rows, cols)
            result = self._matrix[np.ix_(row_slots, col_slots)].astype(np.float64)
        missing = np.isnan(result)
        if not missing.any():
            return result
        # one engine call for the origins and destinations that had any pair missing (a little more than needed
        # when the gaps are scattered, all of it kept)
        ask_rows, ask_cols = np.flatnonzero(missing.any(axis=1)), np.flatnonzero(missing.any(axis=0))
        answer, keep = self._ask(origins[ask_rows], destinations[ask_cols])
        result[np.ix_(ask_rows, ask_cols)] = answer
        if keep:
            with self._lock:
                # slots again: another thread may have moved points out meanwhile
                row_slots, col_slots = self._slots_of([rows[i] for i in ask_rows], [cols[j] for j in ask_cols])
                self._matrix[np.ix_(row_slots, col_slots)] = answer
        return result

    def _ask(self, origins: FloatArray, destinations: FloatArray) -> tuple[npt.NDArray[np.float32], bool]:
        """The engine's answer and True (to keep), or the fallback's and False (the engine is asked again next time).
        float32 as kept (a sixteenth of a second at a week), so a pair reads the same the first time as later."""
        if self.fallback is not None and self.monotonic() < self._resting_until:
            return self._fall_back(origins, destinations)
        with self._lock:
            self.engine_calls += 1
        try:
            return np.asarray(self.engine.table(origins, destinations), dtype=np.float32), True
        except RoadEngineError as error:
            if self.fallback is None:
                raise
            if isinstance(error, RoadEngineDown):
                self._resting_until = self.monotonic() + self.rest_after_outage_s
            log.warning(
                "road engine failed, %d x %d pairs from the fallback: %s", len(origins), len(destinations), error
            )
            return self._fall_back(origins, destinations)

    def _fall_back(self, origins: FloatArray, destinations: FloatArray) -> tuple[npt.NDArray[np.float32], bool]:
        assert self.fallback is not None
        with self._lock:
            self.fallbacks += 1
        return self.fallback.durations_between(origins, destinations).astype(np.float32), False

    def _keys(self, points: FloatArray) -> list[Key]:
        rounded = np.round(points, self.decimals)
        return [(float(lat), float(lon)) for lat, lon in rounded]

    def _slots_of(self, rows: list[Key], cols: list[Key]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The matrix slots of the points (the lock held); the points known are marked used before any new one
        takes the slot of the least recently used."""
        wanted = dict.fromkeys(rows + cols)
        for key in wanted:
            if key in self._slots:
                self._slots.move_to_end(key)
        for key in wanted:
            if key not in self._slots:
                self._slots[key] = self._new_slot()
        return (
            np.array([self._slots[k] for k in rows], dtype=np.intp),
            np.array([self._slots[k] for k in cols], dtype=np.intp),
        )

    def _new_slot(self) -> int:
        if self._free:
            return self._free.pop()
        size = len(self._matrix)  # every slot below it is taken
        if size < self.max_points:
            grown = min(self.max_points, max(64, 2 * size))
            matrix = np.full((grown, grown), np.nan, dtype=np.float32)
            matrix[:size, :size] = self._matrix
            self._matrix = matrix
            self._free.extend(range(grown - 1, size, -1))
            return size
        _, slot = self._slots.popitem(last=False)
        self._matrix[slot, :] = np.nan
        self._matrix[:, slot] = np.nan
        return slot


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
