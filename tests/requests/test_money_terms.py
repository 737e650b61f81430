"""The contract's money terms (issue 17) pass through a filed request to dispatch, and stay off the customer's view."""

from __future__ import annotations

import uuid

import pytest

from shared.events.requests import ServiceRequestCreated
from tests.requests.conftest import RequestsService

pytestmark = pytest.mark.date_sensitive


async def test_the_contracts_money_terms_reach_dispatch_with_the_request(service: RequestsService) -> None:
    customer = uuid.uuid4()
    priced = service.contracts.add_site(customer, late_penalty_per_hour=250.0, visit_value=1500.0)
    plain = service.contracts.add_site(customer)
    filed = await service.file(customer, priced)
    assert not {"late_penalty_per_hour", "visit_value"} & set(filed)  # what the contract charges is not theirs to see
    [created] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(filed["id"]))
    assert (created["late_penalty_per_hour"], created["visit_value"]) == (250.0, 1500.0)
    other = await service.file(customer, plain)
    [created] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(other["id"]))
    assert (created["late_penalty_per_hour"], created["visit_value"]) == (None, None)
