"""Who may see and write what; territories found by PostGIS polygon membership."""

from __future__ import annotations

import uuid

import pytest

from shared.auth import Role
from tests.contracts.conftest import Contracts

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_customer_sees_its_own_things_and_nothing_of_another_customer(contracts: Contracts) -> None:
    mine, my_site = await contracts.customer_with_site("Kerch Fish Co")
    theirs, their_site = await contracts.customer_with_site("Feodosia Ice")
    my_unit = await contracts.unit(my_site)
    their_unit = await contracts.unit(their_site)
    my_contract = await contracts.contract(mine, [my_site])
    their_contract = await contracts.contract(theirs, [their_site])
    me = contracts.customer(mine)
    get = contracts.client.get

    assert (await get(f"/sites/{my_site}", headers=me)).status_code == 200
    assert (await get(f"/equipment/{my_unit}", headers=me)).status_code == 200
    assert (await get(f"/contracts/{my_contract['id']}", headers=me)).status_code == 200
    assert [s["id"] for s in (await get(f"/customers/{mine}/sites", headers=me)).json()] == [my_site]
    for path in (
        f"/sites/{their_site}",
        f"/equipment/{their_unit}",
        f"/equipment/{their_unit}/history",
        f"/sites/{their_site}/equipment",
        f"/customers/{theirs}",
        f"/customers/{theirs}/sites",
        f"/contracts/{their_contract['id']}",
        f"/contracts/{their_contract['id']}/visits",
        f"/contracts/{their_contract['id']}/health",
        f"/entitlement?site_id={their_site}",
    ):
        response = await get(path, headers=me)
        assert response.status_code == 404, (path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    listed = (await get("/contracts", headers=me)).json()
    assert {c["customer_id"] for c in listed} == {mine}
    assert [c["id"] for c in (await get("/customers", headers=me)).json()] == [mine]


async def test_only_managers_and_admins_write_and_dispatchers_read(contracts: Contracts) -> None:
    customer_id, site_id = await contracts.customer_with_site("Sevastopol Bakery")
    as_customer = contracts.customer(customer_id)
    refused = await contracts.client.post(
        f"/customers/{customer_id}/sites",
        headers=as_customer,
        json={"name": "x", "address": "y", "location": {"lat": 44.6, "lon": 33.5}},
    )
    assert refused.status_code == 403
    dispatcher = contracts.keys.headers(Role.DISPATCHER)
    assert (await contracts.client.get(f"/sites/{site_id}", headers=dispatcher)).status_code == 200
    assert (await contracts.client.post("/customers", headers=dispatcher, json={"name": "x"})).status_code == 403
    admin = contracts.keys.headers(Role.ADMIN)
    assert (await contracts.client.post("/customers", headers=admin, json={"name": "Admin's"})).status_code == 201
    technician = contracts.keys.headers(Role.TECHNICIAN, technician_id=uuid.uuid4())
    assert (await contracts.client.get(f"/sites/{site_id}", headers=technician)).status_code == 404


def _square(lon: float, lat: float, half: float) -> dict[str, object]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


async def test_a_site_lies_in_the_smallest_territory_that_covers_it(contracts: Contracts) -> None:
    suffix = uuid.uuid4().hex[:6]
    crimea = await contracts.post("/territories", {"name": f"Crimea {suffix}", "area": _square(34.0, 45.0, 3.0)})
    yalta = await contracts.post("/territories", {"name": f"Yalta {suffix}", "area": _square(34.16, 44.50, 0.1)})
    _, in_yalta = await contracts.customer_with_site("Yalta Deli", lat=44.51, lon=34.17)
    _, in_kerch = await contracts.customer_with_site("Kerch Deli", lat=45.36, lon=36.47)
    _, abroad = await contracts.customer_with_site("Odesa Deli", lat=46.48, lon=30.72)
    sites = {
        s: (await contracts.client.get(f"/sites/{s}", headers=contracts.manager)).json()
        for s in (in_yalta, in_kerch, abroad)
    }
    assert sites[in_yalta]["territory"] == {"id": yalta["id"], "name": yalta["name"]}
    assert sites[in_kerch]["territory"] == {"id": crimea["id"], "name": crimea["name"]}
    assert sites[abroad]["territory"] is None


async def test_a_self_crossing_territory_is_refused_naming_the_field(contracts: Contracts) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[33, 44], [34, 45], [34, 44], [33, 45], [33, 44]]]}
    response = await contracts.client.post(
        "/territories", headers=contracts.manager, json={"name": f"Bowtie {uuid.uuid4().hex[:6]}", "area": bowtie}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "area"
    assert "intersection" in response.json()["errors"][0]["reason"].lower()


async def test_access_hours_are_kept_and_overlaps_refused(contracts: Contracts) -> None:
    hours = {"mon": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "20:00"}]}
    _, site_id = await contracts.customer_with_site("Alushta Cafe", access_hours=hours)
    shown = (await contracts.client.get(f"/sites/{site_id}", headers=contracts.manager)).json()
    assert shown["access_hours"] == {
        "mon": [{"start": "08:00:00", "end": "12:00:00"}, {"start": "13:00:00", "end": "20:00:00"}]
    }
    customer = await contracts.post("/customers", {"name": "Overlapping Hours"})
    response = await contracts.client.post(
        f"/customers/{customer['id']}/sites",
        headers=contracts.manager,
        json={
            "name": "x",
            "address": "y",
            "location": {"lat": 44.6, "lon": 33.5},
            "access_hours": {"tue": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "20:00"}]},
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "access_hours", "reason": "opening hours on tue overlap"}]
