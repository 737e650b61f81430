"""Priority by criticality, warranty coverage, and the sweep's notice rules: pure, no I/O."""

from __future__ import annotations

from datetime import date

import pytest

from services.contracts.domain.lifecycle import warranty_problem
from services.contracts.domain.notices import ending_soon_days_left, overdue_is_news
from services.contracts.domain.records import RowProblem, parse_equipment
from services.contracts.domain.sla import default_priority


@pytest.mark.parametrize(
    ("kind", "criticality", "expected"),
    [
        ("emergency", "critical", "P1"),
        ("emergency", "high", "P1"),
        ("emergency", "normal", "P2"),
        ("emergency", "low", "P2"),
        ("emergency", None, "P1"),  # a site-level emergency: no unit says it is minor
        ("routine", "critical", "P3"),
        ("routine", None, "P3"),
    ],
)
def test_an_emergency_defaults_to_p1_or_p2_by_the_units_criticality(
    kind: str, criticality: str | None, expected: str
) -> None:
    assert default_priority(kind, criticality) == expected


def test_an_equipment_row_reads_criticality_defaulting_to_normal() -> None:
    row = {"site_ref": "S-1", "equipment_type": "cold_room", "model": "Polair", "serial": "X1"}
    assert parse_equipment(row).criticality == "normal"
    assert parse_equipment({**row, "criticality": " High "}).criticality == "high"
    with pytest.raises(RowProblem) as problem:
        parse_equipment({**row, "criticality": "urgent"})
    assert problem.value.column == "criticality"


def test_an_end_date_is_announced_once_inside_the_window_and_again_when_it_moves() -> None:
    today, ends = date(2026, 11, 28), date(2026, 12, 18)
    assert ending_soon_days_left(ends, today, 30, None) == 20
    assert ending_soon_days_left(ends, today, 30, ends) is None  # already told
    assert ending_soon_days_left(date(2027, 1, 10), today, 30, ends) is None  # extended beyond the window
    assert ending_soon_days_left(date(2026, 12, 20), today, 30, ends) == 22  # extended within it: new news
    assert ending_soon_days_left(today, today, 30, None) == 0
    assert ending_soon_days_left(date(2026, 11, 27), today, 30, None) is None  # already over
    assert ending_soon_days_left(None, today, 30, None) is None


def test_only_a_growing_number_of_overdue_visits_is_news() -> None:
    assert overdue_is_news(3, 0) and overdue_is_news(4, 3)
    assert not overdue_is_news(3, 3) and not overdue_is_news(2, 3)


@pytest.mark.parametrize(
    ("contract_type", "has_unit", "ends_on", "expected"),
    [
        ("warranty", True, date(2026, 12, 31), None),
        ("warranty", True, date(2026, 11, 28), None),  # the last day still counts
        ("warranty", True, date(2026, 11, 27), "the unit's warranty ended on 2026-11-27"),
        ("warranty", True, None, None),
        ("warranty", False, date(2026, 12, 31), "warranty covers named units only"),
        ("on_call", True, date(2020, 1, 1), None),  # only warranty contracts care about the warranty
        ("full_maintenance", False, None, None),
    ],
)
def test_a_warranty_contract_serves_a_named_unit_while_its_warranty_runs(
    contract_type: str, has_unit: bool, ends_on: date | None, expected: str | None
) -> None:
    assert warranty_problem(contract_type, has_unit, ends_on, date(2026, 11, 28)) == expected
