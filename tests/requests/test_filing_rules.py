"""Filing rules and survey links without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.requests.domain.filing import (
    Coverage,
    TimeWindow,
    check_preferred_windows,
    deadlines_after_the_customers_window,
    on_site_contact,
    settled_priority,
)
from services.requests.domain.surveys import SurveyAnswer, check_answer, ensure_open, rating_of
from services.requests.usecases.survey_links import SurveyLinks
from shared.clock import FixedClock
from shared.errors import Conflict, InvalidInput, Unauthorized

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_coverage_flags() -> None:
    assert (Coverage(True, False).label, Coverage(True, False).billable) == ("covered", False)
    assert (Coverage(True, True).label, Coverage(True, True).billable) == ("quota_exceeded", True)
    assert (Coverage(False, False).label, Coverage(False, False).billable) == ("not_covered", True)


def test_the_site_contact_stands_in_only_for_a_request_naming_nobody() -> None:
    site = ("Oksana", "+7 978 555 66 77")
    assert on_site_contact({"name": "", "phone": "", "email": "a@b.c"}, *site) == {
        "name": "Oksana",
        "phone": "+7 978 555 66 77",
        "email": "a@b.c",
    }
    assert on_site_contact({"name": "", "phone": "+7 978 1"}, *site) == {"name": "", "phone": "+7 978 1"}
    assert on_site_contact({"name": "Marina", "phone": ""}, *site) == {"name": "Marina", "phone": ""}
    assert on_site_contact({"name": "", "phone": ""}, None, "+7 978 2") == {"name": "", "phone": "+7 978 2"}
    assert on_site_contact({"name": "", "phone": ""}, None, None) == {"name": "", "phone": ""}


def test_priority_asked_then_answered_then_by_kind() -> None:
    assert settled_priority("emergency", "P3", "P1") == "P3"  # an explicit choice stands
    assert settled_priority("emergency", None, None) == "P2"
    assert settled_priority("emergency", None, "P1") == "P1"
    assert settled_priority("routine", None, None) == "P3"


def test_preferred_windows() -> None:
    good = TimeWindow(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=4))
    check_preferred_windows("routine", [good], NOW)
    with pytest.raises(InvalidInput) as refused:
        check_preferred_windows("emergency", [good], NOW)
    assert refused.value.problems[0].field == "preferred_windows"
    with pytest.raises(InvalidInput) as backwards:
        check_preferred_windows("routine", [good, TimeWindow(good.end, good.start)], NOW)
    assert backwards.value.problems[0].field == "preferred_windows.1"
    with pytest.raises(InvalidInput):
        check_preferred_windows("routine", [TimeWindow(NOW - timedelta(hours=3), NOW - timedelta(hours=1))], NOW)


def test_survey_answers_and_rating() -> None:
    check_answer(SurveyAnswer(csat=5, nps=10, comment="fast"))
    for bad, field in ((SurveyAnswer(0, 5, ""), "csat"), (SurveyAnswer(5, 11, ""), "nps")):
        with pytest.raises(InvalidInput) as refused:
            check_answer(bad)
        assert refused.value.problems[0].field == field
    with pytest.raises(Conflict):
        ensure_open(NOW, NOW + timedelta(days=1), NOW)
    with pytest.raises(Conflict):
        ensure_open(None, NOW, NOW)
    rating = rating_of([(5, 10), (4, None), (3, 5)])
    assert (rating.count, rating.csat_mean, rating.nps, rating.nps_count) == (3, 4.0, 0.0, 2)


def test_survey_links_are_signed_for_one_survey_and_customer() -> None:
    links = SurveyLinks(b"s" * 48, "https://fieldline.example/surveys", "fieldline-local", FixedClock(NOW))
    survey, customer = uuid.uuid4(), uuid.uuid4()
    token = links.token(survey, customer, NOW + timedelta(days=1))
    assert links.link(token) == f"https://fieldline.example/surveys/{token}"
    claim = links.verify(token)
    assert (claim.survey_id, claim.customer_id) == (survey, customer)
    with pytest.raises(Unauthorized):
        links.verify(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(Unauthorized):
        SurveyLinks(b"t" * 48, "https://x/", "fieldline-local", FixedClock(NOW)).verify(token)
    with pytest.raises(Unauthorized):
        links.verify(links.token(survey, customer, NOW - timedelta(seconds=1)))
    # a token for another purpose under the same secret is refused
    other = jwt.encode(
        {
            "sub": str(survey),
            "customer_id": str(customer),
            "aud": "fieldline",
            "iss": "fieldline-local",
            "exp": NOW + timedelta(days=1),
        },
        b"s" * 48,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        links.verify(other)


def test_deadlines_move_past_the_customers_earliest_window_only_for_routine_work_that_needs_it() -> None:
    t0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    window = TimeWindow(t0 + timedelta(days=1), t0 + timedelta(days=1, hours=2))
    due, fix = t0 + timedelta(hours=4), t0 + timedelta(hours=8)
    moved = deadlines_after_the_customers_window("routine", due, fix, (window,))
    assert (moved.response_due, moved.fix_due) == (window.end, window.end + timedelta(hours=4))
    kept = deadlines_after_the_customers_window("emergency", due, fix, (window,))
    assert (kept.response_due, kept.fix_due) == (due, fix)
    roomy = deadlines_after_the_customers_window("routine", t0 + timedelta(days=5), None, (window,))
    assert (roomy.response_due, roomy.fix_due) == (t0 + timedelta(days=5), None)
    assert deadlines_after_the_customers_window("routine", None, None, (window,)).response_due is None
