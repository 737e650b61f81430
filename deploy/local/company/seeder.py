"""Create a generated company through the services' public HTTP APIs, idempotently.

Every object is looked up by its natural key before it is created: territories and technicians by name,
customers and sites by ``external_ref``, equipment by serial, a customer's contract by its customer, a
schedule by (site, unit). A second run against the same databases creates nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from deploy.local.company.generator import (
    CONTRACT_DESK_EMAIL,
    DISPATCH_DESK_EMAIL,
    Company,
    ContractSpec,
    ShiftSpec,
    customer_email,
    technician_email,
)

__all__ = ["SeededCompany", "seed_company"]

_PAGE = 200


@dataclass
class SeededCompany:
    """Ids the services gave the company's objects, by natural key; `created` counts what this run added."""

    customers: dict[str, str] = field(default_factory=dict)  # customer ref -> id
    sites: dict[str, str] = field(default_factory=dict)  # site ref -> id
    equipment: dict[str, str] = field(default_factory=dict)  # serial -> id
    contracts: dict[str, str] = field(default_factory=dict)  # customer ref -> contract id
    technicians: dict[str, str] = field(default_factory=dict)  # name -> id
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url} → {response.status_code}: {response.text}")
    return response.json()


class _RateLimitedError(Exception):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"rate-limited; retry after {wait_s} s")
        self.wait_s = wait_s


def _retry_after(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome is not None else None
    return min(60.0, error.wait_s) if isinstance(error, _RateLimitedError) else 2.0


class _WaitsOutRateLimits(httpx.BaseTransport):
    """Seeding a company is a burst of writes, and the services rate-limit writes per caller (e.g. 30 recipients a
    minute): a 429 is waited out for its Retry-After and sent again (tenacity) rather than failing the seeding."""

    def __init__(self, attempts: int = 30) -> None:
        self.inner = httpx.HTTPTransport()
        self.attempts = attempts

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retrying = Retrying(
            retry=retry_if_exception_type(_RateLimitedError),
            wait=_retry_after,
            stop=stop_after_attempt(self.attempts),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                response = self.inner.handle_request(request)
                if response.status_code == 429:
                    response.read()
                    response.close()
                    raise _RateLimitedError(float(response.headers.get("retry-after", "2")))
        return response

    def close(self) -> None:
        self.inner.close()


def _all(client: httpx.Client, url: str, **params: str) -> list[Any]:
    """Every item of a list endpoint, page by page (lists are paged at 200 at most)."""
    items: list[Any] = []
    while True:
        page = _ok(client.get(url, params={**params, "limit": _PAGE, "offset": len(items)}))
        items.extend(page)
        if len(page) < _PAGE:
            return items


def _hhmm(t: Any) -> str:
    return str(t.strftime("%H:%M"))


def _daily(opening: tuple[Any, Any]) -> dict[str, list[dict[str, str]]]:
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {d: [{"start": _hhmm(opening[0]), "end": _hhmm(opening[1])}] for d in days}


def _skills(needs: tuple[tuple[str, int], ...]) -> list[dict[str, object]]:
    return [{"skill": s, "min_level": level} for s, level in needs]


def _shift(spec: ShiftSpec) -> dict[str, object]:
    return {
        "start": _hhmm(spec.start),
        "end": _hhmm(spec.end),
        "break_minutes": spec.break_minutes,
        "break_earliest": _hhmm(spec.break_earliest),
        "break_latest": _hhmm(spec.break_latest),
    }


def _contract_body(spec: ContractSpec, customer_id: str, site_ids: list[str]) -> dict[str, object]:
    body: dict[str, object] = {
        "customer_id": customer_id,
        "contract_type": spec.contract_type,
        "starts_on": spec.starts_on.isoformat(),
        "ends_on": spec.ends_on.isoformat(),
        "site_ids": site_ids,
        "sla": [
            {
                "priority": t.priority,
                "response_minutes": t.response_minutes,
                "fix_minutes": t.fix_minutes,
                "required_skills": _skills(t.required_skills),
            }
            for t in spec.sla
        ],
        "holidays": [d.isoformat() for d in spec.holidays],
        "quotas": [{"request_kind": "emergency", "period": "year", "included": spec.emergency_quota_per_year}],
        "price": {"amount": str(spec.monthly_price), "currency": "RUB", "billing_period": "month"},
    }
    if spec.business_hours is not None:
        body["business_hours"] = _daily(spec.business_hours)
    return body


def seed_company(
    company: Company,
    urls: dict[str, str],
    admin_token: str,
    progress: Callable[[str], None] | None = None,
    timeout_s: float = 30.0,
) -> SeededCompany:
    """Create what of ``company`` the services do not have yet; returns every object's id by natural key."""
    say = progress or (lambda _line: None)
    seeded = SeededCompany()
    contracts_url, dispatch_url = urls["contracts"], urls["dispatch"]
    with httpx.Client(
        headers={"Authorization": f"Bearer {admin_token}"}, timeout=timeout_s, transport=_WaitsOutRateLimits()
    ) as client:
        known_territories = {t["name"] for t in _all(client, f"{contracts_url}/territories")}
        for territory in company.territories:
            if territory.name not in known_territories:
                _ok(
                    client.post(
                        f"{contracts_url}/territories", json={"name": territory.name, "area": territory.geojson()}
                    )
                )
                seeded.add("territories")

        # the people before the contracts: activating a contract generates its visits, and dispatch plans each
        # visit's days as it arrives; with no technician yet those plans are empty, and a day planned later (after
        # the technicians came) took visits whose windows began on an earlier day (28 of 42 in one morning)
        known_technicians = {t["name"]: t for t in _all(client, f"{dispatch_url}/technicians")}
        for tech in company.technicians:
            found = known_technicians.get(tech.name)
            if found is None:
                found = _ok(
                    client.post(
                        f"{dispatch_url}/technicians",
                        json={
                            "name": tech.name,
                            "first_name": tech.first_name,
                            "skills": tech.skills,
                            "home_base": {"lat": tech.lat, "lon": tech.lon},
                            "weekly_shifts": {d: _shift(s) for d, s in tech.weekly_shifts.items()},
                            "territory": tech.territory,
                            "phone": tech.phone,
                        },
                    )
                )
                seeded.add("technicians")
            seeded.technicians[tech.name] = str(found["id"])
        say(f"technicians: {len(seeded.technicians)}")

        known_customers = {c.get("external_ref"): c for c in _all(client, f"{contracts_url}/customers")}
        for customer in company.customers:
            found = known_customers.get(customer.ref)
            if found is None:
                found = _ok(
                    client.post(
                        f"{contracts_url}/customers", json={"name": customer.name, "external_ref": customer.ref}
                    )
                )
                seeded.add("customers")
            seeded.customers[customer.ref] = str(found["id"])
        say(f"customers: {len(seeded.customers)}")

        sites_by_customer: dict[str, dict[str, Any]] = {}
        for customer_ref, customer_id in seeded.customers.items():
            listed = _all(client, f"{contracts_url}/customers/{customer_id}/sites")
            sites_by_customer[customer_ref] = {s.get("external_ref"): s for s in listed}
        for site in company.sites:
            found = sites_by_customer[site.customer_ref].get(site.ref)
            if found is None:
                found = _ok(
                    client.post(
                        f"{contracts_url}/customers/{seeded.customers[site.customer_ref]}/sites",
                        json={
                            "name": site.name,
                            "address": site.address,
                            "location": {"lat": site.lat, "lon": site.lon},
                            "external_ref": site.ref,
                            "access_hours": _daily(site.opening),
                            "contact_name": site.contact_name,
                            "contact_phone": site.contact_phone,
                        },
                    )
                )
                seeded.add("sites")
            seeded.sites[site.ref] = str(found["id"])
        say(f"sites: {len(seeded.sites)}")

        units_by_site: dict[str, list[Any]] = {}
        for unit in company.equipment:
            site_id = seeded.sites[unit.site_ref]
            if site_id not in units_by_site:
                units_by_site[site_id] = _all(client, f"{contracts_url}/sites/{site_id}/equipment")
            found = next((u for u in units_by_site[site_id] if u["serial"] == unit.serial), None)
            if found is None:
                found = _ok(
                    client.post(
                        f"{contracts_url}/sites/{site_id}/equipment",
                        json={
                            "equipment_type": unit.equipment_type,
                            "model": unit.model,
                            "serial": unit.serial,
                            "installed_on": unit.installed_on.isoformat(),
                            "warranty_ends_on": unit.warranty_ends_on.isoformat(),
                            "required_skills": _skills(unit.required_skills),
                            "criticality": unit.criticality,
                        },
                    )
                )
                seeded.add("equipment")
            seeded.equipment[unit.serial] = str(found["id"])
        say(f"equipment: {len(seeded.equipment)}")

        known_contracts = {c["customer_id"]: c for c in _all(client, f"{contracts_url}/contracts")}
        for spec in company.contracts:
            customer_id = seeded.customers[spec.customer_ref]
            site_ids = [seeded.sites[s.ref] for s in company.sites if s.customer_ref == spec.customer_ref]
            contract = known_contracts.get(customer_id)
            if contract is None:
                contract = _ok(
                    client.post(f"{contracts_url}/contracts", json=_contract_body(spec, customer_id, site_ids))
                )
                seeded.add("contracts")
            contract_id = str(contract["id"])
            seeded.contracts[spec.customer_ref] = contract_id
            listed = _all(client, f"{contracts_url}/contracts/{contract_id}/schedules")
            have = {(str(s["site_id"]), str(s["equipment_id"])) for s in listed}
            for schedule in spec.schedules:
                key = (seeded.sites[schedule.site_ref], seeded.equipment[schedule.serial])
                if key in have:
                    continue
                _ok(
                    client.post(
                        f"{contracts_url}/contracts/{contract_id}/schedules",
                        json={
                            "site_id": key[0],
                            "equipment_id": key[1],
                            "rrule": schedule.rrule,
                            "first_on": schedule.first_on.isoformat(),
                            "visit_time": _hhmm(schedule.visit_time),
                            "tolerance_days": schedule.tolerance_days,
                            "duration_minutes": schedule.duration_minutes,
                            "required_skills": _skills(schedule.required_skills),
                        },
                    )
                )
                seeded.add("schedules")
            if contract.get("status") == "draft":
                _ok(client.post(f"{contracts_url}/contracts/{contract_id}/activate"))
                seeded.add("activations")
        say(f"contracts: {len(seeded.contracts)}")

        if "notify" in urls:
            _seed_recipients(client, urls["notify"], company, seeded)
            say(f"recipients: {seeded.created.get('recipients', 0)} added")
    return seeded


def _seed_recipients(client: httpx.Client, notify_url: str, company: Company, seeded: SeededCompany) -> None:
    """Who the day's e-mail goes to: each customer's service desk, each technician, the dispatch desk and the
    contract managers. Added by staff, so confirmed at once (a customer's own additions wait for opt-in)."""
    known = {r["email"] for r in _all(client, f"{notify_url}/recipients") if r.get("email")}
    wanted: list[dict[str, object]] = [
        {"kind": "dispatcher", "name": "Dispatch desk", "email": DISPATCH_DESK_EMAIL, "language": "en"},
        {"kind": "contract_manager", "name": "Contract managers", "email": CONTRACT_DESK_EMAIL, "language": "en"},
    ]
    for customer in company.customers:
        wanted.append(
            {
                "kind": "customer",
                "customer_id": seeded.customers[customer.ref],
                "name": f"{customer.name} service desk",
                "email": customer_email(customer),
                "language": "ru",
            }
        )
    for tech in company.technicians:
        wanted.append(
            {
                "kind": "technician",
                "technician_id": seeded.technicians[tech.name],
                "name": tech.name,
                "email": technician_email(tech),
                "language": "ru",
            }
        )
    for recipient in wanted:
        if recipient["email"] in known:
            continue
        _ok(client.post(f"{notify_url}/recipients", json={**recipient, "channels": ["email"]}))
        seeded.add("recipients")


def idempotency_key(*parts: object) -> str:
    """A stable key for a request the player files (the same day and seed file the same request)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "fieldline-day:" + ":".join(str(p) for p in parts)).hex
