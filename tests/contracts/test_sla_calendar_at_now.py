"""SLA deadlines asked "now" (the app's clock) count a Berlin contract's business hours, DST nights included.

The expected deadlines come from a minute-by-minute walk over real time that asks, for each minute, whether
the contract's local wall time is open: an oracle that shares no code with the calendar it checks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.contracts.conftest import Contracts

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.date_sensitive]

BERLIN = ZoneInfo("Europe/Berlin")
# weekdays by day; Saturday night runs past midnight into Sunday, over the hour the clocks change
HOURS: dict[int, list[tuple[time, time]]] = {
    **{weekday: [(time(8), time(18))] for weekday in range(5)},
    5: [(time(22), time(6))],
}
API_HOURS = {
    name: [{"start": s.strftime("%H:%M"), "end": e.strftime("%H:%M")} for s, e in HOURS[weekday]]
    for weekday, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat"))
    if weekday in HOURS
}
RESPONSE_MINUTES, FIX_MINUTES = 240, 960


def _open(instant: datetime, holidays: set[date]) -> bool:
    """Is the Berlin wall time at ``instant`` inside a stretch of business hours?"""
    local = instant.astimezone(BERLIN)
    day, at = local.date(), local.time()
    if day not in holidays:
        for start, end in HOURS.get(day.weekday(), []):
            if (start <= at < end) if start < end else at >= start:
                return True
    before = day - timedelta(days=1)
    if before not in holidays:  # last night's stretch, begun on the day before
        for start, end in HOURS.get(before.weekday(), []):
            if end <= start and at < end:
                return True
    return False


def _deadline(asked: datetime, minutes: int, holidays: set[date]) -> datetime:
    cursor = asked.astimezone(UTC)
    while minutes:
        if _open(cursor, holidays):
            minutes -= 1
        cursor += timedelta(minutes=1)
    return cursor


def _last_sunday(year: int, month: int) -> date:
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


async def _berlin_contract(contracts: Contracts, name: str, holidays: list[str]) -> tuple[str, str]:
    customer_id, site_id = await contracts.customer_with_site(name, lat=52.52, lon=13.405)
    year = contracts.clock.now().astimezone(BERLIN).year
    contract = await contracts.contract(
        customer_id,
        [site_id],
        contract_type="on_call",
        starts_on=f"{year - 1}-01-01",
        timezone="Europe/Berlin",
        business_hours=API_HOURS,
        holidays=holidays,
        sla=[{"priority": "P1", "response_minutes": RESPONSE_MINUTES, "fix_minutes": FIX_MINUTES}],
    )
    activated = await contracts.client.post(f"/contracts/{contract['id']}/activate", headers=contracts.manager)
    assert activated.status_code == 200, activated.text
    return customer_id, site_id


async def _entitlement(contracts: Contracts, site_id: str, **params: Any) -> dict[str, Any]:
    response = await contracts.client.get(
        "/entitlement", headers=contracts.manager, params={"site_id": site_id, "kind": "emergency", **params}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["covered"] is True and answer["priority"] == "P1", answer
    return answer


def _due(answer: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(answer["response_due"]), datetime.fromisoformat(answer["fix_due"])


async def test_deadlines_asked_now_count_berlin_business_hours(contracts: Contracts) -> None:
    now = contracts.clock.now()
    year = now.astimezone(BERLIN).year
    holidays = {date(year, 12, 24), date(year, 12, 31), date(year + 1, 1, 1)}
    _, site_id = await _berlin_contract(contracts, "Berlin Kaufhalle", sorted(d.isoformat() for d in holidays))

    answer = await _entitlement(contracts, site_id)  # no `at`: the app's clock says when
    assert _due(answer) == (_deadline(now, RESPONSE_MINUTES, holidays), _deadline(now, FIX_MINUTES, holidays))


async def test_deadlines_across_the_nights_berlin_changes_its_clocks(contracts: Contracts) -> None:
    year = contracts.clock.now().astimezone(BERLIN).year
    _, site_id = await _berlin_contract(contracts, "Berlin Spätkauf", [])
    for month, hours_that_night in ((3, 7), (10, 9)):  # spring forward: an hour shorter; fall back: longer
        night = _last_sunday(year, month)
        # (aware datetimes of one tzinfo subtract as wall times: compare them in UTC)
        opens = datetime.combine(night - timedelta(days=1), time(22), tzinfo=BERLIN).astimezone(UTC)
        closes = datetime.combine(night, time(6), tzinfo=BERLIN).astimezone(UTC)
        assert closes - opens == timedelta(hours=hours_that_night)
        asked = datetime.combine(night, time(1, 30), tzinfo=BERLIN).astimezone(UTC)  # before the change, open
        answer = await _entitlement(contracts, site_id, at=asked.isoformat())
        response_due, fix_due = _due(answer)
        assert (response_due, fix_due) == (
            _deadline(asked, RESPONSE_MINUTES, set()),
            _deadline(asked, FIX_MINUTES, set()),
        )
        # the night's real length, not its wall-clock length, is what the deadline counts
        used_that_night = (closes - asked).total_seconds() / 60
        if used_that_night < RESPONSE_MINUTES:
            monday_eight = datetime.combine(night + timedelta(days=1), time(8), tzinfo=BERLIN).astimezone(UTC)
            assert response_due == monday_eight + timedelta(minutes=RESPONSE_MINUTES - used_that_night)
        else:
            assert response_due == asked + timedelta(minutes=RESPONSE_MINUTES)
