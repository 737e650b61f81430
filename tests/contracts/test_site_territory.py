"""A site's service territory reaches dispatch (issue 17): planned visits and entitlement answers carry the id of the
territory the site lies in, so dispatch can prefer that territory's technicians; a site in none carries none."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery, VisitPlanned
from shared.messaging import rpc
from tests.contracts.conftest import Contracts

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]


async def test_visits_and_entitlement_answers_carry_the_sites_territory(contracts: Contracts) -> None:
    tag = uuid.uuid4().hex[:6]
    # a small territory of its own in the steppe, placed at random: no other territory (of the suite, or of an
    # earlier run on the same database) covers it
    lat, lon = 45.5 + random.random() * 0.4, 33.6 + random.random() * 0.4
    square = [[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01], [lon - 0.01, lat + 0.01]]
    territory = await contracts.post(
        "/territories", {"name": f"Steppe {tag}", "area": {"type": "Polygon", "coordinates": [[*square, square[0]]]}}
    )
    customer_id, site_id = await contracts.customer_with_site(f"Steppe Farm {tag}", lat=lat, lon=lon)
    contract = await contracts.contract(
        customer_id, [site_id], starts_on=(contracts.clock.now() - timedelta(days=30)).date().isoformat()
    )
    await contracts.post(
        f"/contracts/{contract['id']}/schedules",
        {"site_id": site_id, "rrule": "FREQ=WEEKLY;BYDAY=WE", "tolerance_days": 1, "duration_minutes": 45},
    )
    activated = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert activated.status_code == 200, activated.text

    planned = await contracts.outbox(VisitPlanned.subject, contract_id=contract["id"])
    assert planned and {e["territory_id"] for e in planned} == {territory["id"]}

    answer = await rpc.call(
        contracts.broker,
        CHECK_ENTITLEMENT,
        EntitlementQuery(site_id=uuid.UUID(site_id), kind="emergency", at=contracts.clock.now()),
        EntitlementAnswer,
    )
    assert answer.site is not None and str(answer.site.territory_id) == territory["id"]

    # far from Crimea: other tests draw territories as large as the whole peninsula (test_access's "Crimea")
    _, elsewhere = await contracts.customer_with_site(f"Nowhere Farm {tag}", lat=lat - 30, lon=lon)
    outside = await rpc.call(
        contracts.broker,
        CHECK_ENTITLEMENT,
        EntitlementQuery(site_id=uuid.UUID(elsewhere), kind="emergency", at=contracts.clock.now()),
        EntitlementAnswer,
    )
    assert outside.site is not None and outside.site.territory_id is None
