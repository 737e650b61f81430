"""The ownership matrix, generated from the services' OpenAPI documents (issue 16): one customer's world is built
through the public APIs (customer, site, unit, contract, an emergency booked to a technician, the customer's photo,
the technician's photo and visit attachment, a recipient), and every secured operation whose path names those
objects is called by their owner and by someone else of the same role.

- Another customer and another technician are refused (403 or 404), or, for a read of a collection, answered
  without a trace of the owner's objects (their ids and the marker words in their names and texts).
- The owner's reads find their objects (no 404), so the matrix is known to reach them.

Operations whose path names something the world does not hold ({day}, {kind}, a proposal, a delivery, a webhook)
are left out; each service's suite covers them route by route (webhooks: tests/notify/test_webhooks.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.auth import Role
from shared.migrations import SERVICES
from shared.openapi import ROLES_EXTENSION
from tests.conftest import Keys
from tests.support.bodies import contract_body
from tests.support.infra import Stack

pytestmark = pytest.mark.fuzz

METHODS = ("get", "post", "put", "patch", "delete")
MARKER = f"owned{uuid.uuid4().hex[:10]}"  # in every name and text of the owner's world: found in an answer = leaked
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
ALWAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
# what each role's owner owns of the world: the owner's reads of a path naming only these must find them
OWNED = {
    Role.CUSTOMER: {"customer_id", "site_id", "equipment_id", "contract_id", "request_id", "photo_id", "recipient_id"},
    Role.TECHNICIAN: {"assignment_id", "attachment_id", "technician_id"},
}


@dataclass
class World:
    """The owner's objects by the path parameter that names them, and who owns them."""

    objects: dict[str, str]
    customer: uuid.UUID
    technician: uuid.UUID
    other_customer: uuid.UUID
    other_technician: uuid.UUID
    secrets: set[str]  # strings that must not reach anyone but the owner and staff


def _ok(response: httpx.Response, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), (
        f"{response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()  # type: ignore[no-any-return]


def _technician(client: httpx.Client, name: str, skills: dict[str, int], lat: float, lon: float) -> uuid.UUID:
    body = {
        "name": name,
        "skills": skills,
        "home_base": {"lat": lat, "lon": lon},
        "weekly_shifts": {day: {"start": "00:00", "end": "00:00"} for day in sorted(ALWAYS)},
    }
    return uuid.UUID(_ok(client.post("/technicians", json=body), 201)["id"])


def _booking(client: httpx.Client, request_id: str) -> dict[str, Any]:
    """The emergency's booking as the board shows it, once dispatch has placed it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        board = _ok(client.get("/board"))
        job = next((r for r in board["requests"] if r["request_id"] == request_id), None)
        if job and job.get("assignment"):
            return job["assignment"]  # type: ignore[no-any-return]
        time.sleep(0.25)
    raise AssertionError(f"request {request_id} was not booked within 30 s")


def _complete(client: httpx.Client, assignment: str, headers: dict[str, str], attachment: str) -> None:
    """The technician's visit, done with a report: the report, and the survey it leads to, exist."""
    url = f"/me/assignments/{assignment}"
    _ok(client.post(f"{url}/accept", headers=headers, json={"client_command_id": str(uuid.uuid4())}))
    for step in ("en_route", "on_site"):
        _ok(
            client.post(f"{url}/status", headers=headers, json={"client_command_id": str(uuid.uuid4()), "status": step})
        )
    report = {
        "client_command_id": str(uuid.uuid4()),
        "outcome": "completed",
        "work_done": f"door seal replaced {MARKER}",
        "signed_by": f"Site manager {MARKER}",
        "attachment_ids": [attachment],
    }
    _ok(client.post(f"{url}/report", headers=headers, json=report))


def _survey(client: httpx.Client, request_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The customer's survey of the visit, once requests has heard the visit is done."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = client.get(f"/requests/{request_id}/survey", headers=headers)
        if answer.status_code == 200:
            return answer.json()  # type: ignore[no-any-return]
        time.sleep(0.25)
    raise AssertionError(f"no survey of request {request_id} within 30 s")


@pytest.fixture(scope="module")
def world(stack: Stack, keys: Keys) -> Iterator[World]:
    manager = keys.headers(Role.CONTRACT_MANAGER)
    dispatcher = keys.headers(Role.DISPATCHER)
    with (
        httpx.Client(base_url=stack.url("contracts"), headers=manager, timeout=30) as contracts,
        httpx.Client(base_url=stack.url("dispatch"), headers=dispatcher, timeout=30) as dispatch,
        httpx.Client(base_url=stack.url("requests"), timeout=30) as requests_api,
        httpx.Client(base_url=stack.url("notify"), timeout=30) as notify,
    ):
        customer = _ok(contracts.post("/customers", json={"name": f"Yalta Market {MARKER}"}), 201)
        other = _ok(contracts.post("/customers", json={"name": "Kerch Fish Ltd"}), 201)
        site = _ok(
            contracts.post(
                f"/customers/{customer['id']}/sites",
                json={
                    "name": f"Yalta shop {MARKER}",
                    "address": f"Moskovskaya St 12 {MARKER}, Yalta",
                    "location": {"lat": 44.4990, "lon": 34.1600},
                },
            ),
            201,
        )
        unit = _ok(
            contracts.post(
                f"/sites/{site['id']}/equipment",
                json={"equipment_type": "cold_room", "model": f"Polair {MARKER}", "serial": f"SN-{MARKER}"},
            ),
            201,
        )
        contract = _ok(
            contracts.post(
                "/contracts",
                json=contract_body(customer["id"], [site["id"]], starts_on="2020-01-01"),
            ),
            201,
        )
        _ok(contracts.post(f"/contracts/{contract['id']}/activate"))
        _technician(dispatch, "Anna Koval", {"refrigeration": 3}, 44.50, 34.17)
        other_technician = _technician(dispatch, "Oleg Petrov", {}, 45.36, 36.47)  # no skill: never booked here

        owner = keys.headers(Role.CUSTOMER, customer_id=uuid.UUID(customer["id"]))
        filed = _ok(
            requests_api.post(
                "/customer/requests",
                headers={**owner, "Idempotency-Key": MARKER},
                json={"site_id": site["id"], "equipment_id": unit["id"], "description": f"Cold room warm {MARKER}"},
            ),
            201,
        )
        photo = str(uuid.uuid4())
        _ok(
            requests_api.put(
                f"/requests/{filed['id']}/photos/{photo}", content=JPEG, headers={**owner, "content-type": "image/jpeg"}
            ),
            200,
            201,
        )
        booking = _booking(dispatch, filed["id"])
        technician = uuid.UUID(booking["technician_id"])
        _ok(dispatch.put(f"/technicians/{technician}/photo", content=JPEG, headers={"content-type": "image/jpeg"}))
        mine = keys.headers(Role.TECHNICIAN, technician_id=technician)
        attachment = str(uuid.uuid4())
        _ok(
            dispatch.put(
                f"/me/assignments/{booking['id']}/attachments/{attachment}",
                params={"kind": "photo"},
                content=JPEG,
                headers={**mine, "content-type": "image/jpeg"},
            ),
            200,
            201,
        )
        _complete(dispatch, booking["id"], mine, attachment)
        survey = _survey(requests_api, filed["id"], owner)
        recipient = _ok(
            notify.post(
                "/recipients",
                headers=owner,
                json={"kind": "customer", "email": f"{MARKER}@shop.example", "language": "en"},
            ),
            201,
        )
        objects = {
            "customer_id": customer["id"],
            "site_id": site["id"],
            "equipment_id": unit["id"],
            "contract_id": contract["id"],
            "request_id": filed["id"],
            "photo_id": photo,
            "assignment_id": booking["id"],
            "attachment_id": attachment,
            "technician_id": str(technician),
            "recipient_id": recipient["id"],
        }
        yield World(
            objects,
            uuid.UUID(customer["id"]),
            technician,
            uuid.UUID(other["id"]),
            other_technician,
            {MARKER, survey["id"], *objects.values()} - {str(technician)},
        )


def _operations(document: dict[str, Any], world: World) -> Iterator[tuple[str, str, str, list[str], set[str]]]:
    """(method, template, path, declared roles, parameter names) of each secured operation whose path parameters
    all name the world's objects."""
    for template, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None or not operation.get("security"):
                continue
            names = [
                p["name"] for p in operation.get("parameters", []) + item.get("parameters", []) if p["in"] == "path"
            ]
            if not names or any(name not in world.objects for name in names):
                continue
            path = template
            for name in names:
                path = path.replace("{" + name + "}", world.objects[name])
            declared = operation.get(ROLES_EXTENSION) or [role.value for role in Role]
            yield method, template, path, declared, set(names)


def _call(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """The answer's status and body; a live stream is read only to its first bytes."""
    if path.endswith("/stream"):
        with client.stream("GET", path, headers=headers, timeout=30) as response:
            if response.status_code != 200:
                response.read()
                return response.status_code, response.text
            return 200, next(response.iter_text(), "")
    body: dict[str, Any] | None = {} if method in ("post", "put", "patch") else None
    response = client.request(method.upper(), path, headers=headers, json=body, timeout=30)
    return response.status_code, response.text


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_owner_reaches_its_objects(service: str, stack: Stack, keys: Keys, world: World) -> None:
    owners = {
        Role.CUSTOMER: keys.headers(Role.CUSTOMER, customer_id=world.customer),
        Role.TECHNICIAN: keys.headers(Role.TECHNICIAN, technician_id=world.technician),
    }
    others = {
        Role.CUSTOMER: keys.headers(Role.CUSTOMER, customer_id=world.other_customer),
        Role.TECHNICIAN: keys.headers(Role.TECHNICIAN, technician_id=world.other_technician),
    }
    wrong: list[str] = []
    checked = found = 0
    with httpx.Client(base_url=stack.url(service)) as client:
        document = client.get("/openapi.json").json()
        for method, template, path, declared, names in _operations(document, world):
            label = f"{method.upper()} {template}"
            for role in (Role.CUSTOMER, Role.TECHNICIAN):
                if role.value not in declared:
                    continue  # the role matrix (test_authorisation_matrix.py) checks the refusal
                checked += 1
                status, text = _call(client, method, path, others[role])
                leaked = sorted(s for s in world.secrets if s in text)
                if status in (401, 500) or (status < 400 and (method != "get" or leaked)):
                    wrong.append(f"{label} as another {role.value}: {status}, leaks {leaked} {text[:160]}")
                if method == "get" and not template.endswith("/stream") and names <= OWNED[role]:
                    status, _ = _call(client, method, path, owners[role])
                    if status == 404:
                        wrong.append(f"{label} as its {role.value}: 404, the matrix does not reach the object")
                    found += status < 300
    assert checked >= 3, f"only {checked} ownership checks in {service}'s document"
    assert found >= 1, f"no read of {service} found the owner's objects"
    assert not wrong, f"{len(wrong)} of {checked} ownership checks failed in {service}:\n" + "\n".join(wrong)
