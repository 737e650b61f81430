"""Money into the planner's travel-seconds (domain/costs.py): pure arithmetic, one exchange rate."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.dispatch.domain.costs import MoneyRates
from services.dispatch.settings import Settings


def test_rates_and_sums_convert_at_the_price_of_an_hour_of_driving() -> None:
    rates = MoneyRates(travel_cost_per_hour=30.0)
    assert rates.per_second_rate(600.0) == 20.0  # 600 an hour late weighs as 20 seconds of driving per second
    assert rates.per_second_rate(None) is None  # absent: the planner's default applies
    assert rates.lump_sum(30.0) == 3600.0  # worth an hour of driving
    assert rates.lump_sum(None) is None
    assert rates.in_money(rates.lump_sum(1234.5) or 0.0) == pytest.approx(1234.5)
    # the planner's defaults, read in money at this rate (settings.py and docs/planner.md state them)
    assert rates.in_money(172_800.0) == 1440.0 and rates.in_money(7_200.0) == 60.0


def test_driving_must_cost_something() -> None:
    with pytest.raises(ValueError, match="travel_cost_per_hour"):
        MoneyRates(travel_cost_per_hour=0.0)


def test_a_contracts_terms_win_over_the_companys_defaults_which_win_over_the_planners() -> None:
    rates = MoneyRates(30.0, late_penalty_per_hour={"P1": 300.0}, visit_value={"P4": 15.0})
    assert rates.sla_cost("P1", 60.0) == 2.0  # the contract's
    assert rates.sla_cost("P1", None) == 10.0  # the company's for P1
    assert rates.sla_cost("P2", None) is None  # the planner's
    assert rates.drop_penalty("P4", None) == 1800.0 and rates.drop_penalty("P4", 0.0) == 0.0
    assert rates.drop_penalty("P3", None) is None


def test_the_settings_read_the_companys_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDLINE_DISPATCH_TRAVEL_COST_PER_HOUR", "40")
    monkeypatch.setenv("FIELDLINE_DISPATCH_DEFAULT_VISIT_VALUE", '{"P1": 2000, "P4": 80}')
    rates = Settings().money_rates()  # type: ignore[call-arg]
    assert rates.drop_penalty("P4", None) == 80 / 40 * 3600 and rates.sla_cost("P4", None) is None
    monkeypatch.setenv("FIELDLINE_DISPATCH_DEFAULT_VISIT_VALUE", '{"P5": 1}')
    with pytest.raises(ValidationError, match="default_visit_value"):
        Settings()  # type: ignore[call-arg]
