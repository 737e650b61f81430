"""Filing and cancelling are rate limited per principal, counted in PostgreSQL (issue 16)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.auth import Role
from tests.requests.conftest import RequestsService


async def test_a_customer_filing_too_fast_gets_429_with_retry_after_and_may_file_again_later(
    service: RequestsService,
) -> None:
    service.app.state.runtime.extras["rate_limiter"].enabled = True
    service.app.state.settings = service.settings.model_copy(update={"rate_limit_per_principal": 2})
    service.clock.set(service.clock.now().replace(second=0, microsecond=0) + timedelta(days=17))
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    headers = service.keys.headers(Role.CUSTOMER, sub=f"flood-{customer.hex[:6]}", customer_id=customer)

    async def file() -> int:
        response = await service.client.post(
            "/requests",
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            json={"site_id": str(site), "kind": "emergency", "description": "Cold room at +9 °C"},
        )
        return response.status_code

    assert [await file(), await file()] == [201, 201]
    refused = await service.client.post(
        "/requests",
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        json={"site_id": str(site), "kind": "emergency", "description": "Cold room at +9 °C"},
    )
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.headers["content-type"] == "application/problem+json"
    listed = await service.client.get("/requests", headers=headers)
    assert len(listed.json()) == 2  # the refused one was not filed
    service.clock.advance(timedelta(seconds=60))
    assert await file() == 201
