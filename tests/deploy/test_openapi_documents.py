"""The OpenAPI documents the web clients are generated from (web/shared/openapi, `make openapi`) are the ones
the services serve, and they say what the services do: bearer security, the roles, problem+json errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deploy.local.openapi import dump
from shared.migrations import SERVICES
from shared.openapi import ROLES_EXTENSION
from shared.settings import REPO_ROOT

COMMITTED = REPO_ROOT / "web" / "shared" / "openapi"


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("openapi")
    dump(out)
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_document_is_the_one_the_service_serves(current: Path, service: str) -> None:
    served = json.loads((current / f"{service}.json").read_text())
    committed = json.loads((COMMITTED / f"{service}.json").read_text())
    assert committed == served, f"web/shared/openapi/{service}.json is stale: run `make openapi` and `npm run gen`"


@pytest.mark.parametrize("service", SERVICES)
def test_errors_are_problem_documents_and_signed_in_operations_say_so(current: Path, service: str) -> None:
    document = json.loads((current / f"{service}.json").read_text())
    operations = [op for item in document["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for operation in operations:
        for status in ("401", "403", "422"):
            answer = operation["responses"].get(status)
            if answer is not None:
                assert list(answer["content"]) == ["application/problem+json"], (operation["operationId"], status)
        if ROLES_EXTENSION in operation:
            assert operation["security"] == [{"bearer": []}]
            assert "admin" in operation[ROLES_EXTENSION]
    assert any("security" in op for op in operations)
    assert "HTTPValidationError" not in json.dumps(document)
