"""Visit schedules and reconciliation: pure domain code, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.contracts.domain.quota import Quota, QuotaUse, quota_period
from services.contracts.domain.schedule import (
    ScheduleFacts,
    VisitRule,
    desired_visits,
    generation_range,
    occurrences,
    rrule_problem,
    visit_window,
)
from services.contracts.domain.visits import ExistingVisit, reconcile_visits

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_weekly_visits_keep_local_time_across_spring_forward() -> None:
    rule = VisitRule("FREQ=WEEKLY;BYDAY=SU", date(2026, 3, 1), time(10), "Europe/Berlin")
    found = occurrences(rule, utc(2026, 3, 16), utc(2026, 4, 6))
    assert found == [utc(2026, 3, 22, 9), utc(2026, 3, 29, 8), utc(2026, 4, 5, 8)]
    assert {f.astimezone(BERLIN).time() for f in found} == {time(10)}


def test_monthly_visits_on_the_last_day_follow_month_ends() -> None:
    rule = VisitRule("FREQ=MONTHLY;BYMONTHDAY=-1", date(2027, 12, 1), time(9), "UTC")
    found = occurrences(rule, utc(2027, 12, 1), utc(2028, 5, 1))
    assert [f.date() for f in found] == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_day_31_follows_rfc5545_and_skips_shorter_months() -> None:
    rule = VisitRule("RRULE:FREQ=MONTHLY;BYMONTHDAY=31", date(2026, 1, 1), time(9), "UTC")
    found = occurrences(rule, utc(2026, 1, 1), utc(2026, 6, 1))
    assert [f.date() for f in found] == [date(2026, 1, 31), date(2026, 3, 31), date(2026, 5, 31)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("FREQ=HOURLY", "FREQ must be"),
        ("BYDAY=MO", "FREQ is required"),
        ("DTSTART:20260101T090000\nRRULE:FREQ=DAILY", "without DTSTART"),
        ("FREQ=WEEKLY;BYDAY=XX", "not a valid RRULE"),
    ],
)
def test_unusable_rules_are_named(text: str, reason: str) -> None:
    problem = rrule_problem(text)
    assert problem is not None and reason in problem


def test_quarterly_rule_is_fine() -> None:
    assert rrule_problem("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15") is None


def test_window_is_whole_local_days_and_stays_inside_the_contract() -> None:
    occurrence = datetime(2026, 3, 3, 10, tzinfo=BERLIN).astimezone(UTC)
    window = visit_window(occurrence, "Europe/Berlin", 5, (date(2026, 3, 1), date(2026, 3, 6)))
    assert window.due_on == date(2026, 3, 3)
    assert window.window_start == datetime(2026, 3, 1, tzinfo=BERLIN)
    assert window.window_end == datetime(2026, 3, 7, tzinfo=BERLIN)


def test_generation_range_is_cut_by_the_contract_period() -> None:
    now = utc(2026, 6, 1)
    assert generation_range(now, 60, "UTC", (date(2026, 7, 15), date(2026, 7, 20))) == (
        utc(2026, 7, 15),
        utc(2026, 7, 21) - timedelta(microseconds=1),
    )
    assert generation_range(now, 10, "UTC", (date(2026, 7, 15), None)) is None


SCHEDULE = ScheduleFacts(
    schedule_id=uuid.uuid4(),
    site_id=uuid.uuid4(),
    equipment_ids=(uuid.uuid4(),),
    rule=VisitRule("FREQ=WEEKLY;BYDAY=MO", date(2026, 1, 1), time(9), "UTC", 2),
    duration_minutes=60,
    skills=(("refrigeration", 2),),
    priority="P4",
)
PERIOD = (date(2026, 1, 1), None)
NOW = utc(2026, 3, 1)


def _wanted(schedule: ScheduleFacts = SCHEDULE) -> list:  # type: ignore[type-arg]
    return desired_visits([schedule], NOW, NOW + timedelta(days=28), PERIOD)


def _stored(specs: list, status: str = "planned") -> list[ExistingVisit]:  # type: ignore[type-arg]
    return [ExistingVisit(uuid.uuid4(), spec, status) for spec in specs]


def test_reconciling_twice_changes_nothing_the_second_time() -> None:
    first = reconcile_visits(
        _wanted(), [], since=NOW, now=NOW, contract_active=True, live_schedules={SCHEDULE.schedule_id}
    )
    assert len(first.planned) == 4 and not (first.moved or first.cancelled or first.reinstated)
    second = reconcile_visits(
        _wanted(),
        _stored(first.planned),
        since=NOW,
        now=NOW,
        contract_active=True,
        live_schedules={SCHEDULE.schedule_id},
    )
    assert second.empty


def test_a_changed_rule_cancels_old_occurrences_and_plans_new_ones() -> None:
    stored = _stored(_wanted())
    thursdays = replace(SCHEDULE, rule=replace(SCHEDULE.rule, rrule="FREQ=WEEKLY;BYDAY=TH"))
    changes = reconcile_visits(
        _wanted(thursdays), stored, since=NOW, now=NOW, contract_active=True, live_schedules={SCHEDULE.schedule_id}
    )
    assert {v for v, _ in changes.cancelled} == {v.visit_id for v in stored}
    assert len(changes.planned) == 4


def test_a_longer_duration_moves_visits_not_yet_started_and_leaves_started_ones() -> None:
    stored = _stored(_wanted())
    stored[0] = replace(stored[0], status="in_progress")
    changes = reconcile_visits(
        _wanted(replace(SCHEDULE, duration_minutes=90)),
        stored,
        since=NOW,
        now=NOW,
        contract_active=True,
        live_schedules={SCHEDULE.schedule_id},
    )
    assert [v for v, _ in changes.moved] == [v.visit_id for v in stored[1:]]
    assert all(spec.duration_minutes == 90 for _, spec in changes.moved)
    assert not changes.planned and not changes.cancelled


def test_an_inactive_contract_cancels_open_visits_but_not_past_ones() -> None:
    past = _stored(desired_visits([SCHEDULE], NOW - timedelta(days=21), NOW - timedelta(days=14), PERIOD))
    stored = _stored(_wanted()) + past
    changes = reconcile_visits([], stored, since=NOW, now=NOW, contract_active=False, live_schedules=set())
    assert {v for v, _ in changes.cancelled} == {v.visit_id for v in stored[:4]}


def test_cancelled_visits_wanted_again_are_reinstated() -> None:
    stored = _stored(_wanted(), status="cancelled")
    changes = reconcile_visits(
        _wanted(), stored, since=NOW, now=NOW, contract_active=True, live_schedules={SCHEDULE.schedule_id}
    )
    assert [v for v, _ in changes.reinstated] == [v.visit_id for v in stored]
    assert not changes.planned


def test_quota_periods_count_from_the_contract_start() -> None:
    assert quota_period("year", date(2026, 3, 15), date(2027, 3, 14)) == (date(2026, 3, 15), date(2027, 3, 15))
    assert quota_period("year", date(2026, 3, 15), date(2027, 3, 15)) == (date(2027, 3, 15), date(2028, 3, 15))
    assert quota_period("month", date(2026, 1, 31), date(2026, 3, 1)) == (date(2026, 2, 28), date(2026, 3, 31))
    assert quota_period("contract", date(2026, 1, 1), date(2030, 1, 1)) == (date(2026, 1, 1), None)
    use = QuotaUse(Quota("emergency", "year", 12), used=12)
    assert use.left == 0 and use.exceeded
