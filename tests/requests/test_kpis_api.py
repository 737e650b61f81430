"""KPIs through the running app: requests filed over HTTP, dispatch's events through JetStream, surveys answered.

Per job, minutes after it was filed (technicians A and B; the follow-up J4 is opened by J3's failure):

| job | unit | tech | due resp/fix | ETA  | on site | end                  | survey |
|-----|------|------|--------------|------|---------|----------------------|--------|
| J1  | U1   | A    | 240 / 480    | 60   | 70      | completed 180        | 5 / 10 |
| J2  | U1   | B    | 240 / 480    | 90   | 300     | completed 360        | 3 / 7  |
| J3  | U2   | A    | 120 / 240    | 30   | 45      | failed 60, parts     | -      |
| J4  | U2   | B    | - / -        | 1560 | 1580    | completed 1620       | 4 / 9  |

As of now: response SLA 2 of 3 (J2 late), fix SLA 2 of 2 (J3's fix deadline has not passed yet),
on time 2 of 4 (J2 210 late, J4 20 late; J3 exactly 15 late is on time), first-time fix 2 of 3 (J4 is a
follow-up), repeat visits 0 of 3 (J2 was filed before J1 was completed), mean response 138.33 min
(J4, a follow-up, left out), CSAT 4.0, NPS 66.7. Per technician: A has J1, J3; B has J2, J4.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from shared.auth import Role
from tests.requests.conftest import RequestsService

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

M = timedelta(minutes=1)


async def _visit(
    service: RequestsService,
    request: dict[str, Any],
    technician: uuid.UUID,
    *,
    booked: int,
    eta: int,
    on_site: int,
    end: str,
    end_at: int,
    outcome: str | None = None,
) -> None:
    t0 = request["created_at"]
    booking = await service.dispatch.booked(request, at=t0 + booked * M, eta=t0 + eta * M, technician_id=technician)
    await service.dispatch.moved(booking, "accepted", at=t0 + (booked + 1) * M)
    await service.dispatch.moved(booking, "en_route", at=t0 + (booked + 2) * M, previous="accepted")
    await service.dispatch.moved(booking, "on_site", at=t0 + on_site * M, previous="en_route")
    await service.dispatch.moved(booking, end, at=t0 + end_at * M, previous="on_site", outcome=outcome)


async def _rate(service: RequestsService, request: dict[str, Any], csat: int, nps: int) -> None:
    response = await service.client.post(
        f"/requests/{request['id']}/survey",
        headers=service.customer(request["customer_id"]),
        json={"csat": csat, "nps": nps},
    )
    assert response.status_code == 201, response.text


def _ratio(kpi: dict[str, Any]) -> tuple[int, int]:
    return kpi["count"], kpi["hits"]


async def test_kpis_match_the_hand_computed_scenario(service: RequestsService) -> None:
    customer, a, b, u1, u2 = (uuid.uuid4() for _ in range(5))
    s1 = service.contracts.add_site(customer, response_minutes=240, fix_minutes=480)
    s2 = service.contracts.add_site(customer, response_minutes=120, fix_minutes=240)
    j1 = await service.file(customer, s1, equipment_id=str(u1))
    j2 = await service.file(customer, s1, equipment_id=str(u1))
    j3 = await service.file(customer, s2, equipment_id=str(u2))
    await _visit(service, j1, a, booked=5, eta=60, on_site=70, end="completed", end_at=180)
    await _visit(service, j2, b, booked=10, eta=90, on_site=300, end="completed", end_at=360)
    await _visit(service, j3, a, booked=5, eta=30, on_site=45, end="failed", end_at=60, outcome="needs_parts")
    await service.drained()
    j3_shown = await service.show(j3["id"], customer)
    j4 = {
        "id": uuid.UUID(j3_shown["follow_up_request_id"]),
        "customer_id": customer,
        "created_at": j3["created_at"] + 60 * M,
    }
    assert datetime.fromisoformat((await service.show(j4["id"], customer))["created_at"]) == j4["created_at"]
    await _visit(service, j4, b, booked=1440, eta=1560, on_site=1580, end="completed", end_at=1620)
    await service.drained()
    for job, csat, nps in ((j1, 5, 10), (j2, 3, 7), (j4, 4, 9)):
        await _rate(service, job, csat, nps)

    now = service.clock.now()
    window = {
        "customer_id": str(customer),
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=2)).isoformat(),
    }
    staff = service.keys.headers(Role.CONTRACT_MANAGER)
    report = await service.client.get("/kpis", params=window, headers=staff)
    assert report.status_code == 200, report.text
    [row] = report.json()["rows"]
    assert row["requests"] == 4
    assert _ratio(row["response_sla"]) == (3, 2)
    assert _ratio(row["fix_sla"]) == (2, 2)
    assert _ratio(row["on_time_arrival"]) == (4, 2)
    assert _ratio(row["first_time_fix"]) == (3, 2) and row["first_time_fix"]["rate"] == 0.6667
    assert _ratio(row["repeat_visits"]) == (3, 0)
    assert row["mean_response_minutes"] == 138.33
    assert (row["csat_count"], row["csat_mean"], row["nps_count"], row["nps"]) == (3, 4.0, 3, 66.7)

    per_technician = await service.client.get("/kpis", params={**window, "group_by": "technician"}, headers=staff)
    rows = {r["key"]: r for r in per_technician.json()["rows"]}
    assert set(rows) == {str(a), str(b)}
    ra, rb = rows[str(a)], rows[str(b)]
    assert [_ratio(ra[k]) for k in ("response_sla", "fix_sla", "on_time_arrival", "first_time_fix")] == [
        (2, 2),
        (1, 1),
        (2, 2),
        (2, 1),
    ]
    assert (ra["mean_response_minutes"], ra["csat_mean"], ra["nps"]) == (57.5, 5.0, 100.0)
    assert [_ratio(rb[k]) for k in ("response_sla", "fix_sla", "on_time_arrival", "first_time_fix")] == [
        (1, 0),
        (1, 1),
        (2, 0),
        (1, 1),
    ]
    assert (rb["mean_response_minutes"], rb["csat_mean"], rb["nps"]) == (300.0, 3.5, 50.0)

    per_unit = await service.client.get("/kpis", params={**window, "group_by": "unit"}, headers=staff)
    assert {r["key"]: r["requests"] for r in per_unit.json()["rows"]} == {str(u1): 2, str(u2): 2}
    per_site = await service.client.get("/kpis", params={**window, "group_by": "site"}, headers=staff)
    assert {r["key"]: _ratio(r["response_sla"]) for r in per_site.json()["rows"]} == {str(s1): (2, 1), str(s2): (1, 1)}

    exported = await service.client.get(
        "/kpis", params={**window, "group_by": "technician", "format": "csv"}, headers=staff
    )
    assert exported.headers["content-type"].startswith("text/csv")
    lines = {r["key"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert (lines[str(a)]["response_sla_hits"], lines[str(a)]["first_time_fix_rate"]) == ("2", "0.5")
    assert (lines[str(b)]["mean_response_minutes"], lines[str(b)]["nps"]) == ("300.0", "50.0")

    # a customer sees its own figures whatever it asks for; a technician sees none
    other = await service.client.get(
        "/kpis", params={**window, "customer_id": str(uuid.uuid4())}, headers=service.customer(customer)
    )
    assert other.json()["rows"][0]["requests"] == 4
    technician = service.keys.headers(Role.TECHNICIAN, technician_id=a)
    assert (await service.client.get("/kpis", params=window, headers=technician)).status_code == 403


async def test_day_buckets_are_the_company_s_days_not_utc_s(service: RequestsService) -> None:
    """Simferopol is UTC+3: work filed at 23:10 UTC and finished at 23:30 UTC is the next local day's; work filed at
    20:50 UTC (23:50 there) is still the first day's."""
    assert service.settings.timezone == "Europe/Simferopol"
    customer, technician = uuid.uuid4(), uuid.uuid4()
    site = service.contracts.add_site(customer, response_minutes=240, fix_minutes=480)
    first_day = service.clock.now().date()
    filed = {}
    for hh, mm in ((20, 50), (23, 10)):
        service.clock.set(datetime.combine(first_day, time(hh, mm), UTC))
        filed[hh] = await service.file(customer, site)
        await _visit(service, filed[hh], technician, booked=2, eta=10, on_site=10, end="completed", end_at=20)
    await service.drained()

    report = await service.client.get(
        "/kpis",
        params={
            "customer_id": str(customer),
            "bucket": "day",
            "from": datetime.combine(first_day, time(12), UTC).isoformat(),
            "to": datetime.combine(first_day + timedelta(days=1), time(12), UTC).isoformat(),
        },
        headers=service.keys.headers(Role.CONTRACT_MANAGER),
    )
    assert report.status_code == 200, report.text
    days = {row["period_start"]: _ratio(row["fix_sla"]) for row in report.json()["rows"]}
    assert days == {first_day.isoformat(): (1, 1), (first_day + timedelta(days=1)).isoformat(): (1, 1)}
