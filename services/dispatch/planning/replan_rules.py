"""What a re-plan adds to a day's rules, per visit and per technician-day, as arrays: pinned order, frozen
stops and the change budget (a pin's technician is in ``allowed``, its fixed time in the evaluator's windows).

The routing model states the same rules as constraints (ortools_model ``_add_pins``, ``_add_change_budget``);
``ReplanRules.broken`` is their statement on plain routes, the check the compiled search is tested against.

- Pinned order: the visits pinned with a ``position`` on one route keep that order among themselves.
- Frozen: a frozen pinned visit (started or committed) sits at the head of its route, only frozen visits
  before it.
- Change budget: at most ``max_moves_per_route`` visits of a technician-day's previous route may ride on
  another technician-day; one served by no one is dropped, not moved, and does not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .instance import RoutingInstance, Ticks
from .model import PlanningOptions

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
NO_BUDGET = 1 << 40  # more moves than any day has visits


@dataclass(frozen=True, slots=True)
class ReplanRules:
    rank: IntArray  # per visit: its pinned position on its route (-1: none)
    frozen: BoolArray  # per visit: frozen at the head of its route
    previous_vehicle: IntArray  # per visit: the technician-day whose previous route held it (-1: none)
    budget: IntArray  # per vehicle: how many visits of its previous route may leave it
    pinned_penalty: float  # leaving a pinned visit out, in travel ticks (the model's 10x the largest)

    @property
    def ordered(self) -> bool:
        """Whether any route has an order to keep (pinned positions or frozen stops)."""
        return bool((self.rank >= 0).any())

    @staticmethod
    def of(instance: RoutingInstance, ticks: Ticks, options: PlanningOptions) -> ReplanRules:
        n, vehicles = len(instance.visits), len(instance.vehicles)
        rank = np.full(n, -1, dtype=np.int64)
        frozen = np.zeros(n, dtype=bool)
        for k, pin in instance.pins.items():
            if instance.allowed[k] and pin.position is not None:  # as the model: only pins with a position
                rank[k] = pin.position
                frozen[k] = pin.frozen
        previous_vehicle = np.full(n, -1, dtype=np.int64)
        budget = np.full(vehicles, NO_BUDGET, dtype=np.int64)
        for v, route in enumerate(instance.previous_routes):
            previous_vehicle[list(route)] = v
            if instance.max_moves_per_route is not None and len(route) > instance.max_moves_per_route:
                budget[v] = instance.max_moves_per_route
        # as the model (ortools_model): ten times the dearest visit's own penalty or the dearest priority default
        own = (max(1, round(options.drop_penalty_of(v) / ticks.resolution)) for v in instance.visits)
        dearest = max(own, default=1)
        pinned_penalty = max(1, 10 * dearest, round(10 * max(options.drop_penalties.values()) / ticks.resolution))
        return ReplanRules(rank, frozen, previous_vehicle, budget, float(pinned_penalty))

    def moves(self, routes: Sequence[Sequence[int]]) -> IntArray:
        """Per vehicle: how many visits of its previous route ride on another technician-day in ``routes``."""
        moved = np.zeros(len(self.budget), dtype=np.int64)
        for v, route in enumerate(routes):
            for k in route:
                p = self.previous_vehicle[k]
                if p >= 0 and p != v:
                    moved[p] += 1
        return moved

    def broken(self, routes: Sequence[Sequence[int]]) -> list[str]:
        """The pinned-order, frozen and change-budget rules that ``routes`` (per vehicle) break."""
        broken = []
        for v, route in enumerate(routes):
            ranks = [int(self.rank[k]) for k in route if self.rank[k] >= 0]
            if ranks != sorted(ranks):
                broken.append(f"vehicle {v}: pinned visits out of order {ranks}")
            frozen = [bool(self.frozen[k]) for k in route]
            if frozen != sorted(frozen, reverse=True):
                broken.append(f"vehicle {v}: a frozen visit after another one")
        for v, moved in enumerate(self.moves(routes).tolist()):
            if moved > self.budget[v]:
                broken.append(f"vehicle {v}: {moved} visits moved away, budget {self.budget[v]}")
        return broken


def promises_held_by_windows(instance: RoutingInstance) -> bool:
    """Whether no visit can start outside its promised band (``Visit.promised``) within its windows. Only then may
    our search plan a re-plan with a change budget: it counts visits leaving a route, not retimes beyond a promise,
    which the routing model counts (ortools_model). The dispatch service cuts a bound booking's windows to its band,
    so its re-plans qualify."""
    for visit in instance.visits:
        band = visit.promised
        if band is not None and instance.max_moves_per_route is not None:
            if not visit.windows or any(w.start < band.start or w.end > band.end for w in visit.windows):
                return False
    return True
