"""The authorisation matrix, generated from the services' OpenAPI documents (issue 16): every operation that
declares bearer security refuses a caller without a token (401), and every operation that declares the roles it
admits (`x-fieldline-roles`, shared/openapi.py) refuses each other role (403) and lets each listed role past
the role check, on the real processes. Ownership (a customer or technician reaching another's objects) is
tested per route in each service's suite; schemathesis (test_openapi_fuzz.py) sends the valid requests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from shared.auth import Role
from shared.migrations import SERVICES
from shared.openapi import ROLES_EXTENSION
from tests.conftest import Keys
from tests.support.infra import Stack

pytestmark = pytest.mark.fuzz

METHODS = ("get", "post", "put", "patch", "delete")


def _path(template: str, parameters: list[dict[str, Any]]) -> str:
    """The path with each parameter filled by a value of its type (nobody's object)."""
    path = template
    for parameter in parameters:
        if parameter.get("in") != "path":
            continue
        schema = parameter.get("schema", {})
        value = {"uuid": str(uuid.uuid4()), "date": "2026-03-02", "date-time": "2026-03-02T10:00:00Z"}.get(
            schema.get("format", ""), "1" if schema.get("type") == "integer" else "x"
        )
        path = path.replace("{" + parameter["name"] + "}", value)
    return path


def _call(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body: dict[str, Any] | None = {} if method in ("post", "put", "patch") else None
    return client.request(method.upper(), path, headers=headers, timeout=30, json=body)


def _headers(keys: Keys, role: Role) -> dict[str, str]:
    # a fresh subject each time: the matrix must not run into the per-principal rate limits
    return keys.headers(
        role,
        sub=f"matrix-{uuid.uuid4().hex[:8]}",
        customer_id=uuid.uuid4() if role is Role.CUSTOMER else None,
        technician_id=uuid.uuid4() if role is Role.TECHNICIAN else None,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_admits_exactly_the_roles_its_document_declares(service: str, stack: Stack, keys: Keys) -> None:
    wrong: list[str] = []
    secured = restricted = 0
    with httpx.Client(base_url=stack.url(service)) as client:
        document = client.get("/openapi.json").json()
        for template, item in document["paths"].items():
            for method in METHODS:
                operation = item.get(method)
                if operation is None or not operation.get("security"):
                    continue
                secured += 1
                path = _path(template, operation.get("parameters", []) + item.get("parameters", []))
                label = f"{method.upper()} {template}"
                anonymous = _call(client, method, path, {})
                if anonymous.status_code != 401 or anonymous.headers["content-type"] != "application/problem+json":
                    wrong.append(f"{label} without a token: {anonymous.status_code}")
                declared = operation.get(ROLES_EXTENSION)
                if declared is None:
                    continue
                restricted += 1
                for role in Role:
                    answer = _call(client, method, path, _headers(keys, role))
                    refused = answer.status_code == 403 and "may not do this" in answer.text
                    if role.value in declared and (refused or answer.status_code == 401):
                        wrong.append(f"{label} as {role.value} (declared): {answer.status_code} {answer.text[:120]}")
                    if role.value not in declared and not refused:
                        wrong.append(f"{label} as {role.value} (not declared): {answer.status_code}")
    assert secured > 10 and restricted >= 1
    assert not wrong, f"{len(wrong)} answers break the matrix of {secured} secured operations:\n" + "\n".join(wrong)
