"""A small demo data set for `make run`, created through the public APIs (so it is checked like any input)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

CUSTOMER = "Krym Fresh Markets"

SITES = [
    ("Simferopol, Kievskaya 41", "Kievskaya St 41, Simferopol", 44.9572, 34.1108),
    ("Yalta, Moskovskaya 12", "Moskovskaya St 12, Yalta", 44.4990, 34.1600),
    ("Sevastopol, Bolshaya Morskaya 5", "Bolshaya Morskaya St 5, Sevastopol", 44.6166, 33.5254),
]

TECHNICIANS = [
    ("Anna Koval", 44.9521, 34.1024, {"refrigeration": 4, "electrical": 2}),
    ("Oleg Petrov", 44.4952, 34.1663, {"refrigeration": 3, "gas_certified": 1}),
    ("Dmitry Volkov", 44.6054, 33.5221, {"refrigeration": 2, "electrical": 3}),
    ("Ivan Sidorov", 45.3571, 36.4681, {"refrigeration": 5, "gas_certified": 1}),
]
ROUND_THE_CLOCK = {day: {"start": "00:00", "end": "00:00"} for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@dataclass
class DemoData:
    customer_id: str
    site_ids: list[str]
    contract_id: str
    technician_ids: dict[str, str]


def _ok(response: httpx.Response) -> dict[str, object]:
    if response.status_code >= 400:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url} → {response.status_code}: {response.text}")
    body: dict[str, object] = response.json()
    return body


def _named(items: object, name: str, key: str = "name") -> dict[str, object] | None:
    """The first listed object whose ``key`` is ``name`` (the demo data's natural keys)."""
    assert isinstance(items, list)
    return next((item for item in items if item.get(key) == name), None)


def seed(urls: dict[str, str], admin_token: str, state_file: Path) -> DemoData:
    """Create the demo data unless the database already has it: each object is looked up by its natural key
    (customer, site and technician names; the customer's contract) through the APIs before it is created, so
    a second run, or a second checkout against the same database, adds nothing."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(headers=headers, timeout=10) as client:
        contracts_url, dispatch_url = urls["contracts"], urls["dispatch"]
        customer = _named(
            _ok_list(client.get(f"{contracts_url}/customers", params={"name": CUSTOMER})), CUSTOMER
        ) or _ok(client.post(f"{contracts_url}/customers", json={"name": CUSTOMER}))
        known_sites = _ok_list(client.get(f"{contracts_url}/customers/{customer['id']}/sites"))
        site_ids = []
        for name, address, lat, lon in SITES:
            site = _named(known_sites, name) or _ok(
                client.post(
                    f"{contracts_url}/customers/{customer['id']}/sites",
                    json={"name": name, "address": address, "location": {"lat": lat, "lon": lon}},
                )
            )
            site_ids.append(str(site["id"]))
        contracts = _ok_list(client.get(f"{contracts_url}/contracts", params={"customer_id": str(customer["id"])}))
        contract = _named(contracts, str(customer["id"]), "customer_id")
        if contract is None:
            refrigeration = [{"skill": "refrigeration", "min_level": 2}]
            contract = _ok(
                client.post(
                    f"{contracts_url}/contracts",
                    json={
                        "customer_id": customer["id"],
                        "contract_type": "full_maintenance",
                        "starts_on": "2026-01-01",
                        "ends_on": "2027-12-31",
                        "site_ids": site_ids,
                        "sla": [
                            {
                                "priority": "P1",
                                "response_minutes": 240,
                                "fix_minutes": 480,
                                "required_skills": refrigeration,
                            },
                            {
                                "priority": "P2",
                                "response_minutes": 480,
                                "fix_minutes": 1440,
                                "required_skills": refrigeration,
                            },
                            {"priority": "P3", "response_minutes": 1440, "fix_minutes": 4320},
                        ],
                    },
                )
            )
        if contract.get("status") == "draft":
            _ok(client.post(f"{contracts_url}/contracts/{contract['id']}/activate"))
        known_technicians = _ok_list(client.get(f"{dispatch_url}/technicians", params={"limit": 200}))
        technician_ids = {}
        for name, lat, lon, skills in TECHNICIANS:
            tech = _named(known_technicians, name) or _ok(
                client.post(
                    f"{dispatch_url}/technicians",
                    # the demo runs at any hour: round the clock, not the company's default working hours
                    json={
                        "name": name,
                        "skills": skills,
                        "home_base": {"lat": lat, "lon": lon},
                        "weekly_shifts": ROUND_THE_CLOCK,
                    },
                )
            )
            technician_ids[name] = str(tech["id"])
    demo = DemoData(
        customer_id=str(customer["id"]),
        site_ids=site_ids,
        contract_id=str(contract["id"]),
        technician_ids=technician_ids,
    )
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(asdict(demo), indent=2))
    return demo


def _ok_list(response: httpx.Response) -> list[dict[str, object]]:
    if response.status_code >= 400:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url} → {response.status_code}: {response.text}")
    body: list[dict[str, object]] = response.json()
    return body


def new_idempotency_key() -> str:
    return uuid.uuid4().hex
