"""The API's edges (issue 11): stream cursors, control characters in text, read-after-write, one timestamp form."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from services.requests.domain.surveys import SurveyAnswer, check_answer
from shared.errors import InvalidInput
from tests.requests.conftest import RequestsService
from tests.requests.test_stream import _frames, _read, second_replica
from tests.requests.test_surveys import _completed_job

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

M = timedelta(minutes=1)
SIMFEROPOL = timezone(timedelta(hours=3))


def _problem_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["field"] for e in response.json()["errors"]]


async def test_a_stream_resumed_beyond_every_issued_id_replays_from_the_start(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    path = f"/requests/{request['id']}/stream"
    async with second_replica(service) as url, httpx.AsyncClient(base_url=url, timeout=None) as client:
        headers = {**service.customer(customer), "Last-Event-ID": "99999999999999"}
        async with client.stream("GET", path, headers=headers) as response:
            assert response.status_code == 200
            [filed] = await _read(_frames(response), 1)
            assert filed["event"] == "new"
            assert filed["data"]["at"].endswith("Z")
    for garbage in ("abc", "-1", "1e3"):
        refused = await service.client.get(path, headers={**service.customer(customer), "Last-Event-ID": garbage})
        assert _problem_fields(refused) == ["Last-Event-ID"]


@pytest.mark.parametrize("control", ["\u0000", "\u0007", "\u001b"])
async def test_control_characters_in_text_are_refused_naming_the_field(service: RequestsService, control: str) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer)
    headers = {**service.customer(customer), "Idempotency-Key": uuid.uuid4().hex}
    for body, field in (
        ({"description": f"cold{control}room"}, "description"),
        ({"contact": {"name": f"Mar{control}ina"}}, "contact.name"),
        ({"contact": {"phone": f"+7{control}"}}, "contact.phone"),
        ({"contact": {"email": f"a{control}@b.c"}}, "contact.email"),
    ):
        refused = await service.client.post(
            "/requests", headers=headers, json={"site_id": str(site), "kind": "emergency", **body}
        )
        assert _problem_fields(refused) == [field]
    listed = await service.client.get(
        "/requests", params={"status": f"new{control}"}, headers=service.customer(customer)
    )
    assert _problem_fields(listed) == ["status"]

    filed = await service.file(customer, site, description="Line one\nline two\ttabbed\r\n")
    assert filed["description"] == "Line one\nline two\ttabbed\r\n"  # tab, CR and LF are text
    cancelled = await service.client.post(
        f"/requests/{filed['id']}/cancel", headers=service.customer(customer), json={"reason": f"no{control}"}
    )
    assert _problem_fields(cancelled) == ["reason"]


async def test_control_characters_in_a_survey_comment_are_refused(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request, invitation = await _completed_job(service, customer)
    as_customer = await service.client.post(
        f"/requests/{request['id']}/survey",
        headers=service.customer(customer),
        json={"csat": 5, "comment": "fine\u0000"},
    )
    assert _problem_fields(as_customer) == ["comment"]
    by_link = await service.client.post(f"/surveys/{invitation['token']}", json={"csat": 5, "comment": "\u0000"})
    assert _problem_fields(by_link) == ["comment"]
    form = await service.client.post(
        f"/surveys/{invitation['token']}/form?lang=en", data={"csat": "5", "comment": "fine\u0000"}
    )
    assert form.status_code == 422 and form.headers["content-type"].startswith("text/html")
    with pytest.raises(InvalidInput) as refused:
        check_answer(SurveyAnswer(csat=5, nps=None, comment="a\u0000b"))
    assert refused.value.problems[0].field == "comment"


async def test_a_survey_answer_shows_the_technician_as_the_request_does(service: RequestsService) -> None:
    for by_link in (False, True):
        customer = uuid.uuid4()
        request, invitation = await _completed_job(service, customer)
        shown = await service.show(request["id"], customer)
        assert shown["technician_first_name"] == "Anna"
        if by_link:
            answered = await service.client.post(f"/surveys/{invitation['token']}", json={"csat": 4})
        else:
            answered = await service.client.post(
                f"/requests/{request['id']}/survey", headers=service.customer(customer), json={"csat": 4}
            )
        assert answered.status_code == 201, answered.text
        assert answered.json()["technician_first_name"] == shown["technician_first_name"]


def _timestamps(value: Any) -> list[str]:
    """Every string in `value` (nested) that is an ISO 8601 date and time."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _timestamps(v)]
    if isinstance(value, list):
        return [s for v in value for s in _timestamps(v)]
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return []
        return [value]
    return []


def _all_utc_z(found: list[str]) -> None:
    assert found and all(s.endswith("Z") for s in found), [s for s in found if not s.endswith("Z")]


async def test_every_timestamp_the_api_returns_is_utc_with_z(service: RequestsService) -> None:
    customer = uuid.uuid4()
    site = service.contracts.add_site(customer, priority="P3")
    start = (service.clock.now() + timedelta(days=2)).astimezone(SIMFEROPOL).replace(microsecond=0)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat()}
    routine = await service.file(customer, site, kind="routine", preferred_windows=[window])
    request, _ = await _completed_job(service, customer)
    t0 = request["created_at"]
    booking = await service.dispatch.booked(routine, at=t0 + M, eta=(t0 + 30 * M).astimezone(SIMFEROPOL))
    await service.dispatch.moved(
        booking, "en_route", at=(t0 + 5 * M).astimezone(SIMFEROPOL), eta=(t0 + 20 * M).astimezone(SIMFEROPOL)
    )
    await service.drained()

    headers = service.customer(customer)
    for path in (
        f"/requests/{routine['id']}",
        f"/requests/{request['id']}",
        "/requests",
        f"/requests/{request['id']}/survey",
    ):
        response = await service.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        _all_utc_z(_timestamps(response.json()))
    now = service.clock.now().astimezone(SIMFEROPOL)
    kpis = await service.client.get(
        "/kpis",
        headers=headers,
        params={"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=3)).isoformat()},
    )
    assert kpis.status_code == 200, kpis.text
    _all_utc_z(_timestamps(kpis.json()))
