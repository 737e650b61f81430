"""Small instances on a grid where one unit of latitude or longitude is one minute of driving."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.dispatch.planning import GeoPoint, Shift, Technician, Visit
from services.dispatch.planning.travel import FloatArray, coordinates

H = 3600.0
M = 60.0


class GridTravel:
    """Manhattan minutes: travel is easy to work out by hand in the tests."""

    def durations(self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint]) -> FloatArray:
        return self.durations_between(coordinates(origins), coordinates(destinations))

    def durations_between(self, origins: FloatArray, destinations: FloatArray) -> FloatArray:
        diff = np.abs(origins[:, None, :] - destinations[None, :, :])
        return np.asarray(diff.sum(axis=2) * M, dtype=np.float64)


def at(x: float, y: float = 0.0) -> GeoPoint:
    return GeoPoint(x, y)


def day_shift(day: int = 0, start: float = 8 * H, end: float = 17 * H, **kwargs: object) -> Shift:
    return Shift(day=day, start=day * 24 * H + start, end=day * 24 * H + end, **kwargs)  # type: ignore[arg-type]


def tech(tid: str, home: GeoPoint, *shifts: Shift, **kwargs: object) -> Technician:
    return Technician(id=tid, home=home, shifts=shifts or (day_shift(),), **kwargs)  # type: ignore[arg-type]


def visit(vid: str, where: GeoPoint, service: float = 30 * M, **kwargs: object) -> Visit:
    return Visit(id=vid, location=where, service_duration=service, **kwargs)  # type: ignore[arg-type]
