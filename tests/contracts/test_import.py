"""CSV import on the real database: dry run, every bad row reported by line, nothing half-imported."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.contracts.conftest import Contracts

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _upload(
    contracts: Contracts, kind: str, content: str, *, dry_run: bool = False, expect: int = 200
) -> dict[str, Any]:
    response = await contracts.client.post(
        f"/imports/{kind}",
        params={"dry_run": str(dry_run).lower()},
        headers=contracts.manager,
        files={"file": (f"{kind}.csv", content.encode(), "text/csv")},
    )
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_customers_sites_and_equipment_import_and_a_dry_run_stores_nothing(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    customers = f'external_ref,name\nC-{tag}-1,Yalta Fresh Market\nC-{tag}-2,"Kerch Fish, Ltd"\n'
    sites = (
        "external_ref,customer_ref,name,address,lat,lon,access_hours\n"
        f'S-{tag}-1,C-{tag}-1,Market hall,"Moskovskaya St 12, Yalta",44.499,34.16,'
        "mon-fri 08:00-20:00; sat 10:00-14:00\n"
        f"S-{tag}-2,C-{tag}-2,Harbour store,Portovaya 3,45.357,36.468,\n"
    )
    equipment = (
        "site_ref,equipment_type,model,serial,installed_on,warranty_ends_on,skills\n"
        f"S-{tag}-1,cold_room,Polair KXH-6,{tag}-A,2024-04-01,2027-04-01,refrigeration:2\n"
        f"S-{tag}-2,ice_machine,Brema CB 184,{tag}-B,,,refrigeration;electrical:2\n"
    )

    dry = await _upload(contracts, "customers", customers, dry_run=True)
    assert dry == {"kind": "customers", "dry_run": True, "rows": 2, "imported": 0, "errors": []}
    everyone = (
        await contracts.client.get("/customers", params={"external_ref": f"C-{tag}-1"}, headers=contracts.manager)
    ).json()
    assert not any(c["external_ref"] == f"C-{tag}-1" for c in everyone)

    assert (await _upload(contracts, "customers", customers))["imported"] == 2
    assert (await _upload(contracts, "sites", sites))["imported"] == 2
    assert (await _upload(contracts, "equipment", equipment))["imported"] == 2

    everyone = (
        await contracts.client.get("/customers", params={"external_ref": f"C-{tag}-2"}, headers=contracts.manager)
    ).json()
    kerch = next(c for c in everyone if c["external_ref"] == f"C-{tag}-2")
    assert kerch["name"] == "Kerch Fish, Ltd"
    [harbour] = (
        await contracts.client.get(f"/customers/{kerch['id']}/sites", headers=contracts.customer(kerch["id"]))
    ).json()
    assert harbour["location"] == {"lat": 45.357, "lon": 36.468} and harbour["access_hours"] is None
    [ice] = (await contracts.client.get(f"/sites/{harbour['id']}/equipment", headers=contracts.manager)).json()
    assert (ice["model"], ice["customer_id"]) == ("Brema CB 184", kerch["id"])
    assert ice["required_skills"] == [
        {"skill": "electrical", "min_level": 2},
        {"skill": "refrigeration", "min_level": 1},
    ]


async def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    await _upload(contracts, "customers", f"external_ref,name\nK-{tag},Known Customer\n")
    sites = (
        "external_ref,customer_ref,name,address,lat,lon\n"
        f"G-{tag}-1,K-{tag},Good one,Lenina 1,44.95,34.10\n"  # line 2: fine on its own
        f"G-{tag}-2,K-{tag},,Lenina 2,44.95,34.10\n"  # 3: no name
        f"G-{tag}-3,K-{tag},Shop,Lenina 3,95,34.10\n"  # 4: latitude out of range
        f"G-{tag}-4,NOBODY-{tag},Shop,Lenina 4,44.95,34.10\n"  # 5: unknown customer
        f"G-{tag}-1,K-{tag},Again,Lenina 5,44.95,34.10\n"  # 6: repeats line 2's reference
        f"G-{tag}-6,K-{tag},Shop,Lenina 6\n"  # 7: too few fields
        f'G-{tag}-7,K-{tag},Shop,"Lenina 7,\nback door",44.9,34.1,extra\n'
    )  # 8-9: too many fields
    for dry_run in (True, False):
        report = await _upload(contracts, "sites", sites, dry_run=dry_run, expect=422)
        assert report["rows"] == 7 and report["imported"] == 0
        assert [(e["line"], e["field"]) for e in report["errors"]] == [
            (3, "name"),
            (4, "lat"),
            (5, "customer_ref"),
            (6, "external_ref"),
            (7, None),
            (9, None),
        ]
        reasons = {e["line"]: e["reason"] for e in report["errors"]}
        assert reasons[3] == "is required"
        assert reasons[5] == f"no customer has the external_ref NOBODY-{tag}"
        assert reasons[6] == "repeats the external_ref of line 2"
        assert reasons[9] == "has 7 fields; the header has 6"
    customers = (
        await contracts.client.get("/customers", params={"external_ref": f"K-{tag}"}, headers=contracts.manager)
    ).json()
    known = next(c for c in customers if c["external_ref"] == f"K-{tag}")
    assert (await contracts.client.get(f"/customers/{known['id']}/sites", headers=contracts.manager)).json() == []

    clash = await _upload(contracts, "customers", f"external_ref,name\nK-{tag},Same ref\n", expect=422)
    assert clash["errors"] == [
        {"line": 2, "field": "external_ref", "reason": "a customer with this external_ref exists"}
    ]


async def test_a_file_without_the_needed_columns_is_refused_at_the_header(contracts: Contracts) -> None:
    report = await _upload(contracts, "equipment", "site_ref,model\nS1,X\n", expect=422)
    assert report["errors"] == [{"line": 1, "field": None, "reason": "missing column(s): equipment_type, serial"}]


async def test_a_large_file_streams_through_batches_and_one_bad_row_stops_it_all(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    rows = [f"B-{tag}-{n},Customer {n}" for n in range(12_000)]
    rows[11_500] = f"B-{tag}-11500,"  # line 11,502: no name
    report = await _upload(contracts, "customers", "external_ref,name\n" + "\n".join(rows) + "\n", expect=422)
    assert report["rows"] == 12_000
    assert report["errors"] == [{"line": 11_502, "field": "name", "reason": "is required"}]
    for ref in (f"B-{tag}-0", f"B-{tag}-11999"):
        found = await contracts.client.get("/customers", params={"external_ref": ref}, headers=contracts.manager)
        assert found.status_code == 200 and found.json() == []
