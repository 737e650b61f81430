"""Invalid text (NUL, lone surrogates) in any string of a body is a 422 naming the field, never a 500 (issue 16)."""

from __future__ import annotations

import uuid

from tests.requests.conftest import RequestsService


async def _file_raw(service: RequestsService, customer: uuid.UUID, body: bytes) -> tuple[int, dict[str, object]]:
    response = await service.client.post(
        "/requests",
        headers={**service.customer(customer), "Idempotency-Key": uuid.uuid4().hex, "content-type": "application/json"},
        content=body,
    )
    return response.status_code, response.json()


async def test_a_lone_surrogate_in_a_filing_is_a_422_naming_the_field(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    body = f'{{"site_id": "{site}", "kind": "emergency", "description": "Cold room \\ud800 at +9"}}'.encode()
    status, problem = await _file_raw(service, customer, body)
    assert status == 422, problem
    assert [e["field"] for e in problem["errors"]] == ["description"]  # type: ignore[union-attr]


async def test_a_nul_in_any_string_of_a_filing_is_a_422_naming_the_field(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    body = f'{{"site_id": "{site}", "kind": "emergency", "description": "ok", "contact": {{"name": "A\\u0000"}}}}'
    status, problem = await _file_raw(service, customer, body.encode())
    assert status == 422, problem
    assert "contact.name" in [e["field"] for e in problem["errors"]]  # type: ignore[union-attr]
