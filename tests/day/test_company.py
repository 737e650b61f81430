"""The generated company: pure data, the same for the same seed, shaped like the brief's company."""

from __future__ import annotations

from collections import Counter

from deploy.local.company.generator import TOWNS, generate_company


def test_same_seed_same_company_other_seed_other_company() -> None:
    assert generate_company(1) == generate_company(1)
    assert generate_company(1) != generate_company(2)


def test_sizes_and_natural_keys_are_unique() -> None:
    company = generate_company(1)
    assert len(company.customers) == 40
    assert 280 <= len(company.sites) <= 300
    assert len(company.technicians) == 25
    assert len({c.ref for c in company.customers}) == len(company.customers)
    assert len({s.ref for s in company.sites}) == len(company.sites)
    assert len({u.serial for u in company.equipment}) == len(company.equipment)
    assert len({t.name for t in company.technicians}) == len(company.technicians)
    assert {s.site_ref for s in company.equipment} == {s.ref for s in company.sites}  # every site has equipment


def test_sites_follow_population_and_stay_near_their_town() -> None:
    company = generate_company(1)
    towns = {t.name: t for t in TOWNS}
    per_town = Counter(s.town for s in company.sites)
    assert per_town["Simferopol"] + per_town["Sevastopol"] > per_town["Yalta"] * 4
    for site in company.sites:
        town = towns[site.town]
        assert abs(site.lat - town.lat) < 0.15 and abs(site.lon - town.lon) < 0.2


def test_contracts_cover_every_unit_with_a_schedule_and_every_priority() -> None:
    company = generate_company(1)
    scheduled = {s.serial for c in company.contracts for s in c.schedules}
    assert scheduled == {u.serial for u in company.equipment}
    for contract in company.contracts:
        assert [t.priority for t in contract.sla] == ["P1", "P2", "P3", "P4"]
        assert all(t.fix_minutes >= t.response_minutes for t in contract.sla)
        assert all(s.first_on.weekday() < 5 for s in contract.schedules)
        assert {s.rrule for s in contract.schedules} <= {"FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=3"}


def test_technicians_have_shifts_with_lunch_and_cover_every_skill_needed() -> None:
    company = generate_company(1)
    for tech in company.technicians:
        assert len(tech.weekly_shifts) == 5
        assert all(s.break_minutes > 0 for s in tech.weekly_shifts.values())
    needed = {(skill, level) for u in company.equipment for skill, level in u.required_skills}
    for skill, level in needed:
        assert any(t.skills.get(skill, 0) >= level for t in company.technicians), skill
