"""The customer's allow-list of timeline entries, as pure rules (services/requests/domain/customer_view.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.requests.domain.customer_view import customer_detail, customer_timeline
from services.requests.domain.records import TimelineRecord

AT = datetime(2026, 12, 4, 7, 15, tzinfo=UTC)


def entry(status: str, **detail: Any) -> TimelineRecord:
    return TimelineRecord(id=1, status=status, at=AT, detail=detail)


def test_only_listed_keys_leave() -> None:
    booked = entry("assigned", assignment_id="a-1", technician_first_name="Anna", eta="2026-12-04T08:00:00Z")
    moved = entry("reassigned", assignment_id="a-1", technician_first_name="Oleg", reason="Anna is off sick")
    filed = entry("new", filed_by="customer-7f3a", coverage="covered", reason="quota used up")

    assert customer_detail(booked) == {"technician_first_name": "Anna", "eta": "2026-12-04T08:00:00Z"}
    assert customer_detail(moved) == {"technician_first_name": "Oleg"}
    assert customer_detail(filed) == {}


def test_a_cancellation_says_who_in_words_and_only_the_customers_own_reason() -> None:
    by_dispatcher = entry("cancelled", by="dispatcher-1", role="dispatcher", reason="duplicate of R-17")
    by_customer = entry("cancelled", by="customer-9", role="customer", reason="fixed it")

    assert customer_detail(by_dispatcher) == {"by": "company"}
    assert customer_detail(by_customer) == {"by": "customer", "reason": "fixed it"}


def test_a_failed_visit_shows_a_known_outcome_only() -> None:
    assert customer_detail(entry("failed", outcome="needs_parts", reason="compressor")) == {"outcome": "needs_parts"}
    assert customer_detail(entry("failed", outcome="tech had a row with the manager")) == {}


def test_entries_not_listed_are_not_shown() -> None:
    entries = [entry("new"), entry("assignment_cancelled", reason="declined: too far"), entry("declined")]

    assert [e.status for e, _ in customer_timeline(entries)] == ["new"]
    assert customer_detail(entry("some_future_internal_step", secret="x")) is None
