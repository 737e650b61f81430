"""What the manager workspace reads and previews: search and paging, bulk edits, schedule and lifecycle
previews, the visit calendar across contracts and public holidays; bad input is a problem naming the field."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from services.contracts.db import tables as t
from services.contracts.db.rows import searchable
from shared.events.contracts import ContractActivated, ContractEnded
from tests.contracts.conftest import Contracts
from tests.support.infra import as_admin

pytestmark = pytest.mark.asyncio(loop_scope="session")

# the dates these tests expect are counted from this Friday morning in Simferopol, whatever the suite's now
FRIDAY = datetime.fromisoformat("2026-12-04T10:15:00+03:00")


def _problem_names(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}, response.text


async def _get(contracts: Contracts, path: str, **params: Any) -> Any:
    response = await contracts.client.get(path, params=params, headers=contracts.manager)
    assert response.status_code == 200, response.text
    return response.json()


async def test_customers_sites_and_units_are_searched_and_paged(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = []
    for n in range(3):
        customer_id, site_id = await contracts.customer_with_site(f"Searchable {tag} Market {n}")
        ids.append((customer_id, site_id, await contracts.unit(site_id, serial=f"{tag}-{n}")))

    found = await _get(contracts, "/customers", q=f"{tag} market")  # any case, anywhere in the name
    assert [c["name"] for c in found] == [f"Searchable {tag} Market {n}" for n in range(3)]
    second = await _get(contracts, "/customers", q=tag, limit=2, offset=2)
    assert [c["name"] for c in second] == [f"Searchable {tag} Market 2"]
    assert await _get(contracts, "/customers", q=f"{tag}%") == []  # % is a character, not a wildcard

    sites = await _get(contracts, "/sites", q=f"searchable {tag}")
    assert {s["id"] for s in sites} == {site for _, site, _ in ids}
    only = await _get(contracts, "/sites", customer_id=ids[0][0])
    assert [s["id"] for s in only] == [ids[0][1]]

    units = await _get(contracts, "/equipment", q=tag, limit=2)
    assert [u["serial"] for u in units] == [f"{tag}-0", f"{tag}-1"]
    at_site = await _get(contracts, "/equipment", site_id=ids[2][1])
    assert [u["id"] for u in at_site] == [ids[2][2]]


async def test_lists_refuse_a_customer_and_bad_paging(contracts: Contracts) -> None:
    customer_id, _ = await contracts.customer_with_site("Nosy Customer")
    for path in ("/sites", "/equipment", "/visits"):
        response = await contracts.client.get(path, headers=contracts.customer(customer_id))
        assert response.status_code == 403, (path, response.text)
    _problem_names(await contracts.client.get("/sites", params={"limit": 500}, headers=contracts.manager), "limit")
    _problem_names(await contracts.client.get("/customers", params={"q": "x" * 201}, headers=contracts.manager), "q")


async def test_bulk_edit_sets_criticality_and_skills_on_many_units(contracts: Contracts) -> None:
    _, site_id = await contracts.customer_with_site("Bulk Edit Market")
    units = [await contracts.unit(site_id) for _ in range(3)]
    response = await contracts.client.patch(
        "/equipment",
        json={
            "equipment_ids": units[:2],
            "changes": {"criticality": "critical", "required_skills": [{"skill": "electrical", "min_level": 3}]},
        },
        headers=contracts.manager,
    )
    assert response.json() == {"updated": 2}, response.text
    edited = {u["id"]: u for u in await _get(contracts, "/equipment", site_id=site_id)}
    assert [edited[u]["criticality"] for u in units] == ["critical", "critical", "normal"]
    assert edited[units[0]]["required_skills"] == [{"skill": "electrical", "min_level": 3}]

    unknown = str(uuid.uuid4())
    bad = await contracts.client.patch(
        "/equipment",
        json={"equipment_ids": [units[0], unknown], "changes": {"criticality": "low"}},
        headers=contracts.manager,
    )
    _problem_names(bad, "equipment_ids")
    assert (await _get(contracts, f"/equipment/{units[0]}"))["criticality"] == "critical"  # nothing changed
    bad = await contracts.client.patch(
        "/equipment", json={"equipment_ids": units, "changes": {"criticality": "urgent"}}, headers=contracts.manager
    )
    _problem_names(bad, "changes.criticality")
    bad = await contracts.client.patch(
        "/equipment", json={"equipment_ids": units, "changes": {}}, headers=contracts.manager
    )
    _problem_names(bad, "changes")


async def test_schedule_preview_shows_the_next_visits_with_their_windows(contracts: Contracts) -> None:
    contracts.clock.set(FRIDAY)  # every 3 months on the first Tuesday, from then
    body = {
        "rrule": "FREQ=MONTHLY;INTERVAL=3;BYDAY=1TU",
        "first_on": "2026-10-01",
        "visit_time": "09:00",
        "tolerance_days": 3,
        "count": 3,
    }
    response = await contracts.client.post("/schedules/preview", json=body, headers=contracts.manager)
    assert response.status_code == 200, response.text
    visits = response.json()["visits"]
    assert [v["due_on"] for v in visits] == ["2027-01-05", "2027-04-06", "2027-07-06"]
    assert visits[0]["due_at"] == "2027-01-05T06:00:00Z"
    assert visits[0]["window_start"] == "2027-01-01T21:00:00Z"  # 2 Jan 00:00 local, three days early
    assert visits[0]["window_end"] == "2027-01-08T21:00:00Z"  # the end of 8 Jan local, three days late

    later = await contracts.client.post(  # a first day ahead counts from that day's morning, local time
        "/schedules/preview",
        json={**body, "rrule": "FREQ=DAILY", "first_on": "2027-01-05", "count": 2},
        headers=contracts.manager,
    )
    assert [v["due_at"] for v in later.json()["visits"]] == ["2027-01-05T06:00:00Z", "2027-01-06T06:00:00Z"]

    ended = await contracts.client.post(
        "/schedules/preview", json={**body, "ends_on": "2027-05-01"}, headers=contracts.manager
    )
    assert [v["due_on"] for v in ended.json()["visits"]] == ["2027-01-05", "2027-04-06"]

    for field, value in (("rrule", "FREQ=HOURLY"), ("rrule", "every month"), ("timezone", "Mars/Olympus")):
        bad = await contracts.client.post("/schedules/preview", json={**body, field: value}, headers=contracts.manager)
        _problem_names(bad, field)
    _problem_names(
        await contracts.client.post("/schedules/preview", json={**body, "count": 100}, headers=contracts.manager),
        "count",
    )


async def _contract_with_quarterly_visits(contracts: Contracts, name: str) -> tuple[str, str]:
    customer_id, site_id = await contracts.customer_with_site(name)
    contract = await contracts.contract(customer_id, [site_id])
    await contracts.post(
        f"/contracts/{contract['id']}/schedules",
        {"site_id": site_id, "rrule": "FREQ=MONTHLY;INTERVAL=3", "first_on": "2026-10-20", "duration_minutes": 60},
    )
    return customer_id, contract["id"]


async def test_lifecycle_preview_shows_the_consequences_and_changes_nothing(contracts: Contracts) -> None:
    contracts.clock.set(FRIDAY)
    _, contract_id = await _contract_with_quarterly_visits(contracts, "Preview Market")

    activate = await _get(contracts, f"/contracts/{contract_id}/activate/preview")
    assert activate["status_before"] == "draft" and activate["status_after"] == "active"
    assert activate["refused"] is None and activate["visits_cancelled"] == []
    assert activate["visits_planned"][0]["due_on"] == "2027-01-20"
    assert await _get(contracts, f"/contracts/{contract_id}/visits") == []  # nothing was stored
    assert (await _get(contracts, f"/contracts/{contract_id}"))["status"] == "draft"
    assert await contracts.outbox(ContractActivated.subject, contract_id=contract_id) == []  # nor announced

    suspend = await _get(contracts, f"/contracts/{contract_id}/suspend/preview")
    assert suspend["status_after"] is None and "cannot become suspended" in suspend["refused"]

    await contracts.post(f"/contracts/{contract_id}/activate", {}, expect=200)
    assert len(await contracts.outbox(ContractActivated.subject, contract_id=contract_id)) == 1  # the real one
    planned = await _get(contracts, f"/contracts/{contract_id}/visits")
    terminate = await _get(contracts, f"/contracts/{contract_id}/terminate/preview")
    assert terminate["status_after"] == "terminated"
    assert [v["due_on"] for v in terminate["visits_cancelled"]] == [v["due_on"] for v in planned]
    assert {v["status"] for v in await _get(contracts, f"/contracts/{contract_id}/visits")} == {"planned"}
    assert await contracts.outbox(ContractEnded.subject, contract_id=contract_id) == []

    bad = await contracts.client.get(f"/contracts/{contract_id}/renew/preview", headers=contracts.manager)
    _problem_names(bad, "action")
    missing = await contracts.client.get(f"/contracts/{uuid.uuid4()}/suspend/preview", headers=contracts.manager)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    customer_id = (await _get(contracts, f"/contracts/{contract_id}"))["customer_id"]
    nosy = await contracts.client.get(
        f"/contracts/{contract_id}/suspend/preview", headers=contracts.customer(customer_id)
    )
    assert nosy.status_code == 403  # a customer may not even ask


async def test_the_calendar_lists_every_contracts_visits_with_names_and_overdue_marks(contracts: Contracts) -> None:
    contracts.clock.set(FRIDAY)
    customer_id, contract_id = await _contract_with_quarterly_visits(contracts, f"Calendar {uuid.uuid4().hex[:6]}")
    await contracts.post(f"/contracts/{contract_id}/activate", {}, expect=200)
    month = {"from": "2027-01-01T00:00:00+03:00", "to": "2027-02-01T00:00:00+03:00", "customer_id": customer_id}
    [visit] = await _get(contracts, "/visits", **month)
    assert visit["contract_id"] == contract_id and visit["due_on"] == "2027-01-20"
    assert visit["customer_name"].startswith("Calendar ") and visit["site_name"].endswith(" shop")
    assert visit["overdue"] is False
    assert await _get(contracts, "/visits", **{**month, "contract_id": contract_id}) == [visit]
    assert await _get(contracts, "/visits", **{**month, "contract_id": str(uuid.uuid4())}) == []

    contracts.clock.advance(timedelta(days=100))  # past the window, not done
    [late] = await _get(contracts, "/visits", **month)
    assert late["overdue"] is True

    bad = await contracts.client.get(
        "/visits", params={"from": "2027-03-01T00:00:00Z", "to": "2027-02-01T00:00:00Z"}, headers=contracts.manager
    )
    _problem_names(bad, "to")
    bad = await contracts.client.get(
        "/visits", params={"from": "2027-01-01T00:00:00Z", "to": "2027-06-01T00:00:00Z"}, headers=contracts.manager
    )
    _problem_names(bad, "to")
    # without a span: a month either side of the service's now (4 December: 20 January is too far; 13 January not)
    contracts.clock.set(FRIDAY)
    assert visit["id"] not in {v["id"] for v in await _get(contracts, "/visits", contract_id=contract_id)}
    contracts.clock.set(FRIDAY + timedelta(days=40))
    assert [v["id"] for v in await _get(contracts, "/visits", contract_id=contract_id)] == [visit["id"]]


async def test_public_holidays_come_from_the_holidays_package(contracts: Contracts) -> None:
    russian = await _get(contracts, "/holidays", country="RU", year=2027, language="ru")
    days = {h["date"]: h["name"] for h in russian}
    assert "2027-01-01" in days and "2027-05-09" in days and days["2027-06-12"] == "День России"
    english = await _get(contracts, "/holidays", country="ru", year=2027)
    assert {h["date"]: h["name"] for h in english}["2027-06-12"] == "Russia Day"
    _problem_names(
        await contracts.client.get("/holidays", params={"country": "XX", "year": 2027}, headers=contracts.manager),
        "country",
    )
    _problem_names(
        await contracts.client.get("/holidays", params={"country": "RU", "year": 1800}, headers=contracts.manager),
        "year",
    )


async def test_territories_are_renamed_and_redrawn(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    square = {
        "type": "Polygon",
        "coordinates": [[[34.0, 44.9], [34.2, 44.9], [34.2, 45.0], [34.0, 45.0], [34.0, 44.9]]],
    }
    created = await contracts.post("/territories", {"name": f"Simferopol {tag}", "area": square})
    moved = {"type": "Polygon", "coordinates": [[[36.4, 45.3], [36.5, 45.3], [36.5, 45.4], [36.4, 45.4], [36.4, 45.3]]]}
    response = await contracts.client.patch(
        f"/territories/{created['id']}", json={"name": f"Kerch {tag}", "area": moved}, headers=contracts.manager
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == f"Kerch {tag}"
    assert response.json()["area"]["coordinates"][0][0][0] == [36.4, 45.3]
    _, site_id = await contracts.customer_with_site(f"Kerch Fish {tag}", lat=45.35, lon=36.45)
    assert (await _get(contracts, f"/sites/{site_id}"))["territory"]["name"] == f"Kerch {tag}"

    bowtie = {
        "type": "Polygon",
        "coordinates": [[[34.0, 44.9], [34.2, 45.0], [34.2, 44.9], [34.0, 45.0], [34.0, 44.9]]],
    }
    bad = await contracts.client.patch(
        f"/territories/{created['id']}", json={"area": bowtie}, headers=contracts.manager
    )
    _problem_names(bad, "area")
    bad = await contracts.client.patch(
        f"/territories/{created['id']}",
        json={"area": {"type": "Point", "coordinates": [34, 45]}},
        headers=contracts.manager,
    )
    _problem_names(bad, "area")
    _problem_names(
        await contracts.client.patch(f"/territories/{created['id']}", json={"name": ""}, headers=contracts.manager),
        "name",
    )
    missing = await contracts.client.patch(
        f"/territories/{uuid.uuid4()}", json={"name": "x"}, headers=contracts.manager
    )
    assert missing.status_code == 404


async def test_an_export_imports_back_in_the_same_columns(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    customer = await contracts.post("/customers", {"name": f"Export {tag}", "external_ref": f"EX-{tag}"})
    site = await contracts.post(
        f"/customers/{customer['id']}/sites",
        {
            "name": f"Export {tag} hall",
            "address": "Lenina 1, Simferopol",
            "location": {"lat": 44.95, "lon": 34.1},
            "external_ref": f"EXS-{tag}",
            "access_hours": {"mon": [{"start": "08:00", "end": "20:00"}], "sat": [{"start": "10:00", "end": "14:00"}]},
        },
    )
    await contracts.unit(site["id"], serial=f"EX-{tag}", criticality="high")

    exported = {}
    for kind in ("customers", "sites", "equipment"):
        response = await contracts.client.get(f"/exports/{kind}", headers=contracts.manager)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        exported[kind] = response.text
    assert exported["customers"].startswith("external_ref,name\n")
    assert f"EX-{tag},Export {tag}\n" in exported["customers"]
    [site_line] = [line for line in exported["sites"].splitlines() if f"EXS-{tag}" in line]
    assert site_line == (
        f'EXS-{tag},EX-{tag},Export {tag} hall,"Lenina 1, Simferopol",44.95,34.1,mon 08:00-20:00; sat 10:00-14:00,,'
    )
    [unit_line] = [line for line in exported["equipment"].splitlines() if f"EX-{tag}" in line]
    assert unit_line == f"EXS-{tag},cold_room,Polair KXH-6,EX-{tag},,,refrigeration:2,high"

    # the export's rows, imported again (a dry run), are refused only as repeats of what exists
    header, line = exported["sites"].splitlines()[0], site_line
    response = await contracts.client.post(
        "/imports/sites",
        params={"dry_run": "true"},
        headers=contracts.manager,
        files={"file": ("sites.csv", f"{header}\n{line}\n".encode(), "text/csv")},
    )
    assert [e["field"] for e in response.json()["errors"]] == ["external_ref"], response.text

    for who in (contracts.customer(customer["id"]),):
        assert (await contracts.client.get("/exports/customers", headers=who)).status_code == 403
    bad = await contracts.client.get("/exports/contracts", headers=contracts.manager)
    _problem_names(bad, "kind")


async def test_paging_tens_of_thousands_of_customers_reads_the_index_in_order(contracts: Contracts) -> None:
    # 20,000 customers; a page deep in the list comes off the (name, id) index with no sort
    async with contracts.db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO contracts.customers (id, name) "
                "SELECT gen_random_uuid(), 'Bulk customer ' || lpad(n::text, 5, '0') FROM generate_series(1, 20000) n"
            )
        )
    admin = await asyncpg.connect(as_admin(contracts.settings.database_url))  # only the owner may ANALYZE
    try:
        await admin.execute("ANALYZE contracts.customers")
    finally:
        await admin.close()
    page = await _get(contracts, "/customers", q="bulk customer 1", limit=50, offset=100)
    assert [c["name"] for c in page][:2] == ["Bulk customer 10100", "Bulk customer 10101"]
    async with contracts.db.transaction() as session:
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text(
                    "EXPLAIN SELECT id, name, external_ref FROM contracts.customers "
                    "ORDER BY name, id LIMIT 50 OFFSET 15000"
                )
            )
        )
        await session.execute(text("DELETE FROM contracts.customers WHERE name LIKE 'Bulk customer %'"))
    assert "ix_customers_name_id" in plan and "Sort" not in plan, plan


async def test_searching_a_hundred_thousand_sites_for_a_few_letters_reads_the_trigram_indexes(
    contracts: Contracts,
) -> None:
    # 100,000 sites of one customer; "contains" search (ILIKE '%…%') for a street among them, by name or address
    customer = (await contracts.client.post("/customers", headers=contracts.manager, json={"name": "Bulk"})).json()
    async with contracts.db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO contracts.sites (id, customer_id, name, address, location) "
                "SELECT gen_random_uuid(), :customer, 'Bulk site ' || n, "
                "CASE WHEN n % 25000 = 0 THEN 'Sadovaya St ' ELSE 'Lenina St ' END || n || ', Simferopol', "
                "ST_GeogFromText('POINT(34.1 44.95)') FROM generate_series(1, 100000) n"
            ),
            {"customer": customer["id"]},
        )
    admin = await asyncpg.connect(as_admin(contracts.settings.database_url))  # only the owner may ANALYZE
    try:
        await admin.execute("ANALYZE contracts.sites")
    finally:
        await admin.close()
    found = await _get(contracts, "/sites", q="sadovaya", limit=50)
    expected = sorted(f"Sadovaya St {n}, Simferopol" for n in (25000, 50000, 75000, 100000))
    assert sorted(s["address"] for s in found) == expected
    # the repository's own condition (with the pattern as the literal the driver would bind)
    searched = select(t.sites.c.id).where(searchable(t.sites).ilike("%sadovaya%"))
    sql = str(searched.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with contracts.db.transaction() as session:
        plan = "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {sql}")))
        await session.execute(text("DELETE FROM contracts.sites WHERE customer_id = :c"), {"c": customer["id"]})
    assert "ix_sites_search_trgm" in plan and "Seq Scan" not in plan, plan
