"""Spreadsheet row rules: pure domain code, no I/O."""

from __future__ import annotations

from datetime import date, time

import pytest

from services.contracts.domain.records import (
    RowProblem,
    header_problem,
    parse_equipment,
    parse_site,
    parse_skills,
    parse_weekly_hours,
)


def test_weekly_hours_read_day_ranges_and_several_stretches() -> None:
    hours = parse_weekly_hours("mon-wed 08:00-12:00,13:00-20:00; sat 10:00-24:00")
    assert hours["tue"] == [(time(8), time(12)), (time(13), time(20))]
    assert hours["sat"] == [(time(10), time(0))]
    assert "sun" not in hours


@pytest.mark.parametrize("text", ["funday 08:00-12:00", "mon 8-12", "fri-mon 08:00-12:00", "mon 25:00-26:00"])
def test_bad_weekly_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_weekly_hours(text)


def test_skills_default_to_level_one() -> None:
    assert parse_skills("Refrigeration:3; electrical") == (("electrical", 1), ("refrigeration", 3))
    with pytest.raises(ValueError, match="between 1 and 5"):
        parse_skills("gas:7")


def test_a_site_row_names_the_bad_column() -> None:
    row = {
        "external_ref": "S1",
        "customer_ref": "C1",
        "name": "Shop",
        "address": "Lenina 1",
        "lat": "91",
        "lon": "34.1",
    }
    with pytest.raises(RowProblem) as problem:
        parse_site(row)
    assert problem.value.column == "lat"
    assert parse_site({**row, "lat": "44,95"}).lat == pytest.approx(44.95)


def test_an_equipment_row_with_warranty_before_install_is_refused() -> None:
    row = {
        "site_ref": "S1",
        "equipment_type": "ice_machine",
        "model": "Brema CB 184",
        "serial": "A1",
        "installed_on": "2025-05-01",
        "warranty_ends_on": "2024-05-01",
    }
    with pytest.raises(RowProblem, match="warranty_ends_on"):
        parse_equipment(row)
    assert parse_equipment({**row, "warranty_ends_on": ""}).installed_on == date(2025, 5, 1)


def test_headers_must_have_the_required_columns_and_no_strangers() -> None:
    assert header_problem("customers", ["external_ref", "name"]) is None
    assert "missing column(s): name" in (header_problem("customers", ["external_ref"]) or "")
    assert "unknown column(s): colour" in (header_problem("customers", ["external_ref", "name", "colour"]) or "")


def test_a_site_row_contact_is_optional_and_bounded() -> None:
    row = {
        "external_ref": "S-1",
        "customer_ref": "C-1",
        "name": "Shop",
        "address": "Lenina 1",
        "lat": "44.9",
        "lon": "34.1",
    }
    assert (parse_site(row).contact_name, parse_site(row).contact_phone) == (None, None)
    named = parse_site({**row, "contact_name": "  Pavel ", "contact_phone": "+7 978 1"})
    assert (named.contact_name, named.contact_phone) == ("Pavel", "+7 978 1")
    with pytest.raises(RowProblem) as problem:
        parse_site({**row, "contact_name": "x" * 501})
    assert problem.value.column == "contact_name"
