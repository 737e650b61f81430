"""The day's scenario and report rendering: pure code, no services."""

from __future__ import annotations

from datetime import time

from bench.day.metrics import percentile
from bench.day.report import render_html
from bench.day.scenario import build_scenario, job_behaviour, satisfaction
from deploy.local.company.generator import generate_company


def test_the_same_seed_plays_the_same_day() -> None:
    company = generate_company(1)
    assert build_scenario(company, 1) == build_scenario(company, 1)
    assert build_scenario(company, 1).emergencies != build_scenario(company, 2).emergencies
    assert job_behaviour(1, "Anna", 3) == job_behaviour(1, "Anna", 3)


def test_emergencies_arrive_at_about_the_daily_rate_within_the_filing_hours() -> None:
    company = generate_company(1)
    counts = [len(build_scenario(company, seed, emergencies_per_day=30).emergencies) for seed in range(1, 21)]
    assert 24 <= sum(counts) / len(counts) <= 36
    scenario = build_scenario(company, 1)
    sites = {s.ref for s in company.sites}
    for e in scenario.emergencies:
        assert scenario.day_start < e.at < scenario.day_end
        assert e.site_ref in sites
    assert [e.at for e in scenario.emergencies] == sorted(e.at for e in scenario.emergencies)
    assert scenario.sick_technician in scenario.technicians


def test_a_small_scenario_stays_near_its_technicians() -> None:
    company = generate_company(1, customers=6, sites=30, technicians=4)
    scenario = build_scenario(company, 1, technicians=2, hours=(time(7, 30), time(9, 30)), file_until=time(9, 0))
    towns = {t.town for t in company.technicians[:2]}
    site_town = {s.ref: s.town for s in company.sites}
    assert all(site_town[e.site_ref] in towns for e in scenario.emergencies)


def test_satisfaction_falls_with_lateness_and_failure() -> None:
    punctual = [satisfaction(1, f"r{i}", -10, True)[0] for i in range(50)]
    late = [satisfaction(1, f"r{i}", 90, True)[0] for i in range(50)]
    unfixed = [satisfaction(1, f"r{i}", 90, False)[0] for i in range(50)]
    assert sum(punctual) > sum(late) > sum(unfixed)
    assert all(1 <= c <= 5 for c in punctual + late + unfixed)


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([5.0], 90) == 5.0


def test_the_html_report_shows_both_policies_and_a_map() -> None:
    policy = {
        "response_sla_met_pct": 97.5,
        "travel_km": 812.0,
        "response_sla_met_pct_by_priority": {"P1": 100.0},
        "per_technician_km": {"Anna": 41.0},
        "response_minutes": [35.0, 70.0],
        "routes": {"Anna": [(44.95, 34.10), (44.50, 34.17)]},
        "finished_by_hour": {"09": 3},
    }
    page = render_html({"seed": 1, "scenario": {}, "wall_s": 1.0, "policies": {"fieldline": policy, "nearest": policy}})
    assert page.count("<svg") >= 7
    assert "fieldline" in page and "nearest" in page and "<polyline" in page
