"""A site's territory from the customer's POST to the technician booked (issue 17): the requests app and the dispatch
app in-process on one PostGIS and one nats-server, entitlement from the canned contracts. The site lies in SOUTH;
Anna (NORTH) is nearer than Oleg (SOUTH), and the dispatcher's default policy keeps the emergency in its territory."""

from __future__ import annotations

import uuid

import pytest_asyncio

from shared.clock import FixedClock
from shared.events.requests import ServiceRequestCreated
from tests.dispatch.conftest import MONDAY_0800, Dispatch
from tests.requests.conftest import RequestsService
from tests.support.polling import eventually

NORTH, SOUTH = uuid.UUID(int=1), uuid.UUID(int=2)


@pytest_asyncio.fixture
async def clock() -> FixedClock:
    return FixedClock(MONDAY_0800)


async def test_an_emergency_filed_at_a_site_in_a_territory_goes_to_that_territorys_technician(
    service: RequestsService, dispatch: Dispatch
) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, territory_id=SOUTH)  # the Yalta site
    await dispatch.add_technician("Anna Koval", 44.505, 34.16, territory_ids=[str(NORTH)])  # ~0.7 km away
    oleg = await dispatch.add_technician("Oleg Petrov", 44.52, 34.16, territory_ids=[str(SOUTH)])  # ~2.3 km
    filed = await service.file(customer, site)

    [created] = await service.published(ServiceRequestCreated.subject, lambda d: d["request_id"] == str(filed["id"]))
    assert created["territory_id"] == str(SOUTH)

    async def booked() -> list[object]:
        return await dispatch.sql(
            "SELECT technician_id FROM dispatch.assignments WHERE request_id = $1 AND status = 'offered'", filed["id"]
        )

    rows = await eventually(booked, what="dispatch books the emergency")
    assert str(rows[0]["technician_id"]) == oleg  # type: ignore[index]
