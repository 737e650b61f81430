"""No request makes a service answer 5xx (issue 16): schemathesis generates requests, valid and invalid, from
each service's OpenAPI document and sends them to the real processes as every kind of caller and as nobody."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from shared.auth import Role
from shared.migrations import SERVICES
from tests.conftest import Keys
from tests.support.infra import Stack

pytestmark = pytest.mark.fuzz

# examples per operation and caller: enough to reach every validation branch a schema describes, bounded so
# the four services take a few minutes on two cores
EXAMPLES = 12
ROLES = [Role.ADMIN, Role.CUSTOMER, Role.TECHNICIAN, Role.DISPATCHER, Role.CONTRACT_MANAGER]


@pytest.fixture(scope="package")
def callers(keys: Keys) -> dict[str, dict[str, str]]:
    """Every kind of caller's headers (a customer and a technician of their own, owning nothing here), and none."""
    headers = {
        role.value: keys.headers(
            role,
            customer_id=uuid.uuid4() if role is Role.CUSTOMER else None,
            technician_id=uuid.uuid4() if role is Role.TECHNICIAN else None,
        )
        for role in ROLES
    }
    return {"anonymous": {}} | headers


def _is_stream(path: str, definition: dict[str, Any]) -> bool:
    declared = any("text/event-stream" in (answer.get("content") or {}) for answer in definition["responses"].values())
    return declared or path.startswith("/streams/") or path.endswith("/stream")


def _fuzz(operation: Any, base_url: str, callers: dict[str, dict[str, str]], answers: dict[int, int]) -> str | None:
    """Send `EXAMPLES` generated requests to `operation` as every caller; the first 5xx, described, or None."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def _each(case: schemathesis.Case[Any]) -> None:
        for caller, headers in callers.items():
            try:
                response = case.call_and_validate(
                    base_url=base_url, headers=headers, checks=[not_a_server_error], timeout=30
                )
            except Exception as failure:
                raise AssertionError(f"{operation.label} as {caller}: {failure}") from failure
            answers[response.status_code] = answers.get(response.status_code, 0) + 1

    try:
        _each()
    except AssertionError as failure:
        lines = str(failure).splitlines()
        return "\n".join(lines[:12])
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_no_request_makes_a_service_fail(service: str, stack: Stack, callers: dict[str, dict[str, str]]) -> None:
    base_url = stack.url(service)
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    answers: dict[int, int] = {}
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"{service}'s OpenAPI document has an invalid operation: {result.err()}"
        operations.append(result.ok())
    # a live stream stays open while its caller may read it: tests/*/test_stream*.py cover them
    operations = [op for op in operations if not _is_stream(op.path, op.definition.raw)]
    failures = [f for op in operations if (f := _fuzz(op, base_url, callers, answers)) is not None]
    print(service, len(operations), "operations; answers by status:", dict(sorted(answers.items())))
    assert len(operations) > 5
    assert sum(answers.values()) >= len(operations) * len(callers)
    assert not failures, f"{len(failures)} of {len(operations)} operations failed:\n\n" + "\n\n".join(failures)
