"""The territory rule as dispatch states it (domain/territories.py), without I/O: who crosses, and what it costs."""

from __future__ import annotations

import uuid

from services.dispatch.domain.territories import TerritoryPolicy, crosses, crossing_cost_s

NORTH, SOUTH = uuid.UUID(int=1), uuid.UUID(int=2)


def test_only_a_technician_of_other_territories_crosses_to_a_site_in_one() -> None:
    assert crosses(SOUTH, [NORTH])
    assert not crosses(SOUTH, [NORTH, SOUTH])
    assert not crosses(SOUTH, [])  # a floater
    assert not crosses(None, [NORTH])  # a site in no territory


def test_the_policy_prices_a_crossing_or_forbids_it_and_never_touches_work_at_home() -> None:
    assert crossing_cost_s(TerritoryPolicy(), SOUTH, [NORTH]) == 30 * 60.0  # the default
    assert crossing_cost_s(TerritoryPolicy(crossing_cost_minutes=5), SOUTH, [NORTH]) == 300.0
    assert crossing_cost_s(TerritoryPolicy(crossing="forbid"), SOUTH, [NORTH]) is None
    assert crossing_cost_s(TerritoryPolicy(crossing="forbid"), SOUTH, [SOUTH]) == 0.0
    assert crossing_cost_s(TerritoryPolicy(crossing="forbid"), None, [NORTH]) == 0.0
