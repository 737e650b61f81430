"""VRPTW instances (Solomon, Gehring-Homberger), best-known solutions, and an independent checker.

Convention: minimise total Euclidean distance (double precision) with at most the instance's fleet;
travel time = distance; service starts within the window; back at the depot by its due date.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import vrplib

FloatArray = npt.NDArray[np.float64]
TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class VrptwInstance:
    name: str
    coords: FloatArray  # (n + 1, 2), row 0 the depot
    demand: npt.NDArray[np.int64]
    ready: FloatArray
    due: FloatArray
    service: FloatArray
    capacity: int
    fleet: int

    @property
    def customers(self) -> int:
        return len(self.demand) - 1

    def distances(self) -> FloatArray:
        diff = self.coords[:, None, :] - self.coords[None, :, :]
        distances: FloatArray = np.sqrt((diff**2).sum(axis=2))
        return distances


def read_instance(path: Path) -> VrptwInstance:
    data = vrplib.read_instance(str(path), instance_format="solomon")
    return VrptwInstance(
        name=str(data["name"]),
        coords=np.asarray(data["node_coord"], dtype=np.float64),
        demand=np.asarray(data["demand"], dtype=np.int64),
        ready=np.asarray(data["time_window"][:, 0], dtype=np.float64),
        due=np.asarray(data["time_window"][:, 1], dtype=np.float64),
        service=np.asarray(data["service_time"], dtype=np.float64),
        capacity=int(data["capacity"]),
        fleet=int(data["vehicles"]),
    )


@dataclass(frozen=True, slots=True)
class BestKnown:
    distance_only: float | None
    distance_only_vehicles: int | None
    distance_only_convention: str
    fleet_first: float | None
    fleet_first_vehicles: int | None


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def read_best_known(instances_dir: Path) -> dict[str, BestKnown]:
    """bks.csv / bks-all.csv in the instance folder or one of its two parents, keyed by upper-case name."""
    table: dict[str, BestKnown] = {}
    for folder in (instances_dir, instances_dir.parent, instances_dir.parent.parent):
        for name in ("bks-all.csv", "bks.csv"):
            path = folder / name
            if not path.exists():
                continue
            with path.open() as f:
                for row in csv.DictReader(f):
                    vehicles_do = _number(row.get("distance_only_vehicles", ""))
                    vehicles_ff = _number(row.get("fleet_first_vehicles", ""))
                    table.setdefault(
                        row["instance"].upper(),
                        BestKnown(
                            distance_only=_number(row.get("distance_only_distance", "")),
                            distance_only_vehicles=int(vehicles_do) if vehicles_do is not None else None,
                            distance_only_convention=row.get("distance_only_convention", ""),
                            fleet_first=_number(row.get("fleet_first_distance", "")),
                            fleet_first_vehicles=int(vehicles_ff) if vehicles_ff is not None else None,
                        ),
                    )
        if table:
            break
    return table


@dataclass(frozen=True, slots=True)
class CheckResult:
    feasible: bool
    distance: float
    vehicles: int
    errors: tuple[str, ...]


def check_solution(instance: VrptwInstance, routes: list[list[int]]) -> CheckResult:
    """Re-checks routes (customer numbers from the file) in double precision, trusting no solver."""
    errors: list[str] = []
    used = [r for r in routes if r]
    seen: dict[int, int] = {}
    for route in used:
        for c in route:
            seen[c] = seen.get(c, 0) + 1
    missing = set(range(1, instance.customers + 1)) - set(seen)
    if missing:
        errors.append(f"{len(missing)} customers not served, e.g. {sorted(missing)[:5]}")
    twice = [c for c, n in seen.items() if n > 1]
    if twice:
        errors.append(f"customers served more than once: {sorted(twice)[:5]}")
    unknown = [c for c in seen if not 1 <= c <= instance.customers]
    if unknown:
        errors.append(f"unknown customers {unknown[:5]}")
        return CheckResult(False, math.inf, len(used), tuple(errors))
    if len(used) > instance.fleet:
        errors.append(f"{len(used)} vehicles > fleet {instance.fleet}")
    total = 0.0
    xy = instance.coords
    for r, route in enumerate(used):
        load = int(instance.demand[route].sum())
        if load > instance.capacity:
            errors.append(f"route {r}: load {load} > capacity {instance.capacity}")
        t = float(instance.ready[0])
        previous = 0
        for c in route:
            leg = math.dist(xy[previous], xy[c])
            total += leg
            start = max(t + leg, float(instance.ready[c]))
            if start > instance.due[c] + TOLERANCE:
                errors.append(f"route {r}: customer {c} starts {start:.4f} > due {instance.due[c]}")
            t = start + float(instance.service[c])
            previous = c
        leg = math.dist(xy[previous], xy[0])
        total += leg
        if t + leg > instance.due[0] + TOLERANCE:
            errors.append(f"route {r}: back at depot {t + leg:.4f} > {instance.due[0]}")
    return CheckResult(not errors, total, len(used), tuple(errors))
