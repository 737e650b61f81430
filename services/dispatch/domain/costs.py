"""Money into the planner's cost unit: the one place where a contract's and a technician's rates are converted.

The planner's objective is in seconds of driving (planning/model.py): what a plan costs is its travel, plus each
late second at the visit's ``sla_cost`` travel-seconds, each dropped visit at its ``drop_penalty`` travel-seconds,
each second of overtime at the shift's ``overtime_cost``. With driving priced at ``travel_cost_per_hour`` (money per
hour at the wheel: wage and vehicle), one travel-second is worth ``travel_cost_per_hour / 3600`` in money, so the
objective is money divided by that constant and every comparison the planner makes is one in money. Rates that are
absent give None: the planner's defaults apply (by priority; see docs/planner.md for them in money).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class MoneyRates:
    """How money converts to travel-seconds (the price of an hour of driving), and the company's own defaults per
    priority for work whose contract names no money terms (none for a priority: the planner's default)."""

    travel_cost_per_hour: float
    late_penalty_per_hour: Mapping[str, float] = field(default_factory=dict)
    visit_value: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.travel_cost_per_hour > 0:
            raise ValueError("travel_cost_per_hour must be positive")

    def sla_cost(self, priority: str, late_penalty_per_hour: float | None) -> float | None:
        """A job's lateness weight: its contract's penalty, else the company's for its priority (travel-s per s)."""
        return self.per_second_rate(self._or_default(late_penalty_per_hour, self.late_penalty_per_hour, priority))

    def drop_penalty(self, priority: str, visit_value: float | None) -> float | None:
        """What leaving a job out costs: its contract's value, else the company's for its priority (travel-s)."""
        return self.lump_sum(self._or_default(visit_value, self.visit_value, priority))

    @staticmethod
    def _or_default(given: float | None, defaults: Mapping[str, float], priority: str) -> float | None:
        return given if given is not None else defaults.get(priority)

    def per_second_rate(self, money_per_hour: float | None) -> float | None:
        """A rate in money per hour (late, overtime) as travel-seconds per second."""
        return None if money_per_hour is None else money_per_hour / self.travel_cost_per_hour

    def lump_sum(self, money: float | None) -> float | None:
        """An amount of money (a visit's value) as travel-seconds."""
        return None if money is None else money / self.travel_cost_per_hour * HOUR_S

    def in_money(self, travel_seconds: float) -> float:
        """A planner cost (travel-seconds) in money: for reports."""
        return travel_seconds / HOUR_S * self.travel_cost_per_hour
