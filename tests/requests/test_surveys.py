"""Surveys after completed jobs only, answered once by that job's customer; the public verified rating."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from shared.events.requests import SurveyAnswered, SurveyInvited
from tests.requests.conftest import SURVEY_BASE_URL, RequestsService

pytestmark = pytest.mark.date_sensitive  # runs on the suite clock: `make test-dates` moves it

M = timedelta(minutes=1)


async def _completed_job(service: RequestsService, customer: uuid.UUID) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job filed and completed through dispatch's events, and its survey invitation."""
    request = await service.file(customer, service.contracts.add_site(customer))
    t0 = request["created_at"]
    booking = await service.dispatch.booked(request, at=t0 + M, eta=t0 + 30 * M, first_name="Anna")
    await service.dispatch.moved(booking, "on_site", at=t0 + 25 * M)
    await service.dispatch.moved(booking, "completed", at=t0 + 80 * M, previous="on_site")
    [invitation] = await service.published(SurveyInvited.subject, lambda d: d["request_id"] == str(request["id"]))
    return request, invitation


async def test_no_survey_without_a_completed_job(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request = await service.file(customer, service.contracts.add_site(customer))
    booking = await service.dispatch.booked(request, at=request["created_at"], eta=request["created_at"] + 30 * M)
    await service.dispatch.moved(booking, "on_site", at=request["created_at"] + 20 * M)
    await service.drained()
    headers = service.customer(customer)
    assert (await service.client.get(f"/requests/{request['id']}/survey", headers=headers)).status_code == 404
    answered = await service.client.post(f"/requests/{request['id']}/survey", headers=headers, json={"csat": 5})
    assert answered.status_code == 404


async def test_a_signed_link_answers_once_without_login(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request, invitation = await _completed_job(service, customer)
    assert invitation["link"].startswith(SURVEY_BASE_URL)
    assert invitation["technician_first_name"] == "Anna" and invitation["customer_id"] == str(customer)
    path = "/surveys/" + invitation["link"].removeprefix(SURVEY_BASE_URL)

    opened = await service.client.get(path)
    assert opened.status_code == 200
    assert (opened.json()["answered"], opened.json()["technician_first_name"]) == (False, "Anna")
    invalid = await service.client.post(path, json={"csat": 6, "nps": 10})
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "csat"
    answered = await service.client.post(path, json={"csat": 4, "nps": 9, "comment": "Quick and tidy"})
    assert answered.status_code == 201 and answered.json()["answered"] is True
    twice = await service.client.post(path, json={"csat": 1, "nps": 0})
    assert twice.status_code == 409
    as_customer = await service.client.post(
        f"/requests/{request['id']}/survey", headers=service.customer(customer), json={"csat": 1}
    )
    assert as_customer.status_code == 409
    shown = (await service.client.get(f"/requests/{request['id']}/survey", headers=service.customer(customer))).json()
    assert (shown["csat"], shown["nps"], shown["comment"]) == (4, 9, "Quick and tidy")

    [event] = await service.published(SurveyAnswered.subject, lambda d: d["request_id"] == str(request["id"]))
    assert (event["csat"], event["nps"], event["comment"]) == (4, 9, "Quick and tidy")
    assert event["technician_id"] == invitation["technician_id"]
    timeline = (await service.show(request["id"], customer))["timeline"]
    statuses = [e["status"] for e in timeline]  # (the scenario's completion lies in the future: order by time differs)
    assert statuses.count("survey_invited") == statuses.count("survey_answered") == 1


async def test_only_the_jobs_customer_answers(service: RequestsService) -> None:
    customer, other = uuid.uuid4(), uuid.uuid4()
    request, invitation = await _completed_job(service, customer)
    survey_path = f"/requests/{request['id']}/survey"
    for intruder in (service.customer(other), service.dispatcher()):
        assert (await service.client.post(survey_path, headers=intruder, json={"csat": 1})).status_code == 404
    assert (await service.client.get(survey_path, headers=service.customer(other))).status_code == 404
    assert (await service.client.get(survey_path, headers=service.dispatcher())).status_code == 200  # staff may look
    token = invitation["token"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await service.client.post(f"/surveys/{forged}", json={"csat": 1})).status_code == 401
    assert (await service.client.post(f"/surveys/{request['id']}", json={"csat": 1})).status_code == 401
    mine = await service.client.post(survey_path, headers=service.customer(customer), json={"csat": 5, "nps": 10})
    assert mine.status_code == 201
    assert (await service.client.post(f"/surveys/{token}", json={"csat": 1})).status_code == 409


async def test_the_public_rating_counts_verified_answers_and_is_cacheable(service: RequestsService) -> None:
    before = (await service.client.get("/rating.json")).json()
    for csat, nps in ((5, 10), (2, 3)):
        customer = uuid.uuid4()
        request, _ = await _completed_job(service, customer)
        response = await service.client.post(
            f"/requests/{request['id']}/survey", headers=service.customer(customer), json={"csat": csat, "nps": nps}
        )
        assert response.status_code == 201
    # a completed job nobody rated does not count
    await _completed_job(service, uuid.uuid4())

    response = await service.client.get("/rating.json")
    assert response.status_code == 200
    after = response.json()
    n0, m0 = before["count"], before["csat_mean"] or 0
    assert after["count"] == n0 + 2
    assert after["csat_mean"] == pytest.approx((m0 * n0 + 5 + 2) / (n0 + 2), abs=0.01)
    if before["nps_count"] == 0:
        assert after["nps"] == 0.0  # one promoter, one detractor
    assert after["window_days"] == 365
    assert response.headers["Cache-Control"] == "public, max-age=300"
    etag = response.headers["ETag"]
    cached = await service.client.get("/rating.json", headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.headers["ETag"] == etag

    html = await service.client.get("/rating.html")
    assert html.headers["content-type"].startswith("text/html")
    assert f'<span itemprop="ratingCount">{after["count"]}</span>' in html.text
    assert f">{after['csat_mean']:.1f}</span>" in html.text
    assert html.headers["ETag"] != etag
    assert (await service.client.get("/rating.xml")).status_code == 422


async def test_the_link_works_in_a_browser_without_javascript(service: RequestsService) -> None:
    customer = uuid.uuid4()
    request, invitation = await _completed_job(service, customer)
    path = "/surveys/" + invitation["token"]
    browser = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "en-GB,en;q=0.9"}
    page = await service.client.get(path, headers=browser)
    assert page.headers["content-type"].startswith("text/html")
    assert f'action="{path}/form?lang=en"' in page.text and "by Anna" in page.text
    out_of_range = await service.client.post(f"{path}/form?lang=en", data={"csat": "9"})
    assert out_of_range.status_code == 422 and "rating from 1 to 5" in out_of_range.text
    sent = await service.client.post(f"{path}/form?lang=en", data={"csat": "5", "nps": "8", "comment": "<b>ok</b>"})
    assert sent.status_code == 201 and "Thank you" in sent.text
    again = await service.client.post(f"{path}/form?lang=en", data={"csat": "1"})
    assert again.status_code == 409 and "already been answered" in again.text
    assert "already been rated" in (await service.client.get(path, headers=browser)).text
    shown = (await service.client.get(f"/requests/{request['id']}/survey", headers=service.customer(customer))).json()
    assert (shown["csat"], shown["nps"], shown["comment"]) == (5, 8, "<b>ok</b>")
