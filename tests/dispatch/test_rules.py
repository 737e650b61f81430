"""Pure dispatch rules, without I/O: shift calendar, lifecycle, plan diffs, bundling, SLA risk, placement."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.dispatch.domain.bundling import DueVisit, visits_to_bundle
from services.dispatch.domain.calendar import Absence, WeeklyShift, absence_reason, shift_on
from services.dispatch.domain.lifecycle import TransitionRefused, check_transition, status_after_break
from services.dispatch.domain.placement import BookedStop, Candidate, Job, earliest_departure
from services.dispatch.domain.planchanges import Notice, PlacedVisit, diff_plans
from services.dispatch.domain.sla import SlaClock, predicted_arrival
from services.dispatch.planning import RoadFactorTravel
from services.dispatch.usecases.reactive_placement import ReactiveInsertion

TZ = ZoneInfo("Europe/Simferopol")
MONDAY = date(2026, 11, 30)
WEEK = {"mon": WeeklyShift(time(8), time(17), 30, time(12), time(14))}


def local(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def test_no_pattern_means_always_on_duty_and_no_weekday_entry_means_off() -> None:
    always = shift_on(MONDAY, None, [], TZ)
    assert always is not None and always.starts_at == local(0) and always.ends_at == local(0, day=MONDAY + timedelta(1))
    assert shift_on(MONDAY + timedelta(days=1), WEEK, [], TZ) is None
    monday = shift_on(MONDAY, WEEK, [], TZ)
    assert monday is not None and (monday.starts_at, monday.ends_at) == (local(8), local(17))
    assert (monday.break_minutes, monday.break_earliest, monday.break_latest) == (30, local(12), local(14))


def test_sickness_cuts_the_shift_and_a_whole_day_off_removes_it() -> None:
    from_eleven = Absence(local(11), local(23), "sickness")
    cut = shift_on(MONDAY, WEEK, [from_eleven], TZ)
    assert cut is not None and (cut.starts_at, cut.ends_at) == (local(8), local(11))
    assert cut.break_minutes == 0  # the break window fell into the absence
    assert shift_on(MONDAY, WEEK, [Absence(local(0), local(23, 59), "leave")], TZ) is None
    assert absence_reason("Anna", "sickness") == "Anna is off sick"


def test_lifecycle_is_checked_and_a_failure_needs_its_outcome() -> None:
    check_transition("offered", "accepted")
    with pytest.raises(TransitionRefused, match="cannot go from accepted to on_site"):
        check_transition("accepted", "on_site")
    with pytest.raises(TransitionRefused, match="needs an outcome"):
        check_transition("on_site", "failed", "broken")
    check_transition("on_site", "failed", "needs_parts")
    with pytest.raises(TransitionRefused, match="final"):
        check_transition("completed", "en_route")


def test_diff_says_who_lost_a_visit_to_whom_and_why() -> None:
    anna, oleg = uuid.uuid4(), uuid.uuid4()
    moved, retimed, same = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    before = {
        moved: PlacedVisit(moved, "Lenina 1", anna, "Anna", local(10, 30)),
        retimed: PlacedVisit(retimed, "Lenina 2", oleg, "Oleg", local(9)),
        same: PlacedVisit(same, "Lenina 3", oleg, "Oleg", local(11)),
    }
    after = {
        moved: PlacedVisit(moved, "Lenina 1", oleg, "Oleg", local(14)),
        retimed: PlacedVisit(retimed, "Lenina 2", oleg, "Oleg", local(9, 40)),
        same: PlacedVisit(same, "Lenina 3", oleg, "Oleg", local(11, 5)),
    }
    changes = diff_plans(
        before, after, reasons_by_technician={anna: "Anna is off sick"}, reason="re-plan", dropped_reasons={}, tz=TZ
    )
    texts = {c.request_id: c.text for c in changes}
    assert texts[moved] == "visit Lenina 1 moved from Anna 10:30 to Oleg 14:00: Anna is off sick"
    assert texts[retimed] == "visit Lenina 2 moved from Oleg 09:00 to Oleg 09:40: re-plan"
    assert same not in texts  # five minutes is not news


def test_diff_says_who_is_told_and_which_promises_it_breaks() -> None:
    anna, oleg = uuid.uuid4(), uuid.uuid4()
    late, handed, kept, dropped = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    before = {  # each with the arrival its customer was told
        late: PlacedVisit(late, "Lenina 1", oleg, "Oleg", local(9), local(9)),
        handed: PlacedVisit(handed, "Lenina 2", anna, "Anna", local(11), local(11)),
        kept: PlacedVisit(kept, "Lenina 3", oleg, "Oleg", local(13), local(13)),
        dropped: PlacedVisit(dropped, "Lenina 4", oleg, "Oleg", local(15), local(15)),
    }
    after = {
        # the start moves 10 minutes (below the retime threshold), the arrival 40: a broken promise all the same
        late: PlacedVisit(late, "Lenina 1", oleg, "Oleg", local(9, 10), local(9, 40)),
        handed: PlacedVisit(handed, "Lenina 2", oleg, "Oleg", local(11, 20), local(11, 20)),
        kept: PlacedVisit(kept, "Lenina 3", oleg, "Oleg", local(13, 5), local(13, 5)),
    }
    changes = diff_plans(
        before,
        after,
        reasons_by_technician={anna: "Anna is off sick"},
        reason="re-plan",
        dropped_reasons={},
        tz=TZ,
        promise_tolerance=timedelta(minutes=30),
    )
    by_visit = {c.request_id: c for c in changes}
    assert kept not in by_visit
    assert by_visit[late].kind == "retimed" and by_visit[late].promise_broken
    assert by_visit[late].told == (
        Notice("technician", "Oleg: visit Lenina 1 now at 09:10", oleg),
        Notice("customer", "the customer is told the new arrival 09:40 (promised 09:00)"),
    )
    assert by_visit[handed].kind == "moved" and not by_visit[handed].promise_broken
    assert by_visit[handed].told == (
        Notice("technician", "Anna: visit Lenina 2 leaves the route", anna),
        Notice("technician", "Oleg: visit Lenina 2 joins the route at 11:20", oleg),
        Notice("customer", "the customer is told Oleg comes"),
    )
    assert by_visit[dropped].promise_broken and {n.audience for n in by_visit[dropped].told} == {
        "technician",
        "customer",
    }


def test_bundling_takes_maintenance_whose_window_is_open_or_opens_soon() -> None:
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    open_now = DueVisit(uuid.uuid4(), now - timedelta(days=1), now + timedelta(days=3), 45, False)
    soon = DueVisit(uuid.uuid4(), now + timedelta(hours=20), now + timedelta(days=5), 30, False)
    later = DueVisit(uuid.uuid4(), now + timedelta(days=10), now + timedelta(days=20), 30, False)
    started = DueVisit(uuid.uuid4(), now - timedelta(days=1), now + timedelta(days=1), 30, True)
    over = DueVisit(uuid.uuid4(), now - timedelta(days=5), now - timedelta(hours=1), 30, False)
    chosen = visits_to_bundle([later, soon, started, over, open_now], now, timedelta(hours=72))
    assert chosen == [open_now, soon]


def test_sla_risk_is_the_predicted_arrival_past_the_deadline() -> None:
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    due = now + timedelta(hours=2)
    # plenty of time left, but the technician is still 3 hours away
    late = predicted_arrival("en_route", now + timedelta(minutes=30), now, timedelta(hours=3))
    assert SlaClock(due, late).at_risk and SlaClock(due, late).minutes_left(now) == 120
    # ten minutes left and the technician is five minutes away: fine
    close = predicted_arrival("en_route", now + timedelta(minutes=5), now, timedelta(minutes=5))
    assert not SlaClock(now + timedelta(minutes=10), close).at_risk
    assert SlaClock(due, None).at_risk  # nobody can get there
    # unbooked work due beyond the watch's horizon is not judged (the planner books it first): not at risk
    assert not SlaClock(now + timedelta(days=2), None, judged=False).at_risk


def test_reactive_placement_pushes_the_rest_of_the_route_and_keeps_windows() -> None:
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    rule = ReactiveInsertion(RoadFactorTravel())
    anna = uuid.uuid4()
    stop = BookedStop(
        uuid.uuid4(),
        uuid.uuid4(),
        "accepted",
        44.96,
        34.11,
        now + timedelta(minutes=20),
        now + timedelta(minutes=80),
        now + timedelta(minutes=20),
        now + timedelta(hours=6),
        uuid.uuid4(),
    )
    candidate = Candidate(
        anna, "Anna", {"refrigeration": 3}, 44.95, 34.10, 44.95, 34.10, 100.0, 7, now + timedelta(hours=8), (stop,)
    )
    job = Job(uuid.uuid4(), 44.951, 34.101, 60, now + timedelta(hours=1), {"refrigeration": 2})
    decision = rule.decide(job, [candidate], now)
    assert decision.best is not None and decision.best.technician_id == anna and decision.best.meets_sla
    assert decision.best.route_version == 7
    (pushed,) = decision.best.retimed  # the accepted visit now starts after the emergency
    assert pushed.assignment_id == stop.assignment_id and pushed.planned_start >= decision.best.planned_end
    # the same visit with a window closing before the emergency could end: it keeps its slot, the SLA is missed
    tight = BookedStop(
        stop.assignment_id,
        stop.request_id,
        "accepted",
        44.96,
        34.11,
        stop.planned_start,
        stop.planned_end,
        stop.eta,
        now + timedelta(minutes=25),
        stop.customer_id,
    )
    boxed = Candidate(
        anna, "Anna", {"refrigeration": 3}, 44.95, 34.10, 44.95, 34.10, 100.0, 7, now + timedelta(hours=8), (tight,)
    )
    later = rule.decide(job, [boxed], now)
    assert later.best is None and "SLA" in later.reason
    assert later.best_late is not None and later.best_late.planned_start >= stop.planned_end
    assert not later.best_late.retimed
    unskilled = rule.decide(Job(job.request_id, 44.951, 34.101, 60, job.response_due, {"gas": 1}), [boxed], now)
    assert unskilled.best is None and "skills" in unskilled.reason


def test_breaks_start_only_when_free_and_end_back_to_available() -> None:
    assert status_after_break("available", True) == "on_break"
    assert status_after_break("on_break", True) == "on_break"  # already on it: nothing to refuse
    assert status_after_break("on_break", False) == "available"
    assert status_after_break("available", False) == "available"
    for busy in ("en_route", "on_site", "off_shift"):
        with pytest.raises(TransitionRefused, match=f"cannot start a break while {busy.replace('_', ' ')}"):
            status_after_break(busy, True)
    with pytest.raises(TransitionRefused, match="not on a break: on site"):
        status_after_break("on_site", False)


def test_a_technician_on_a_break_sets_off_when_it_ends_and_only_wins_if_still_first_there() -> None:
    now = datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert earliest_departure(now, None) == now
    assert earliest_departure(now, now - timedelta(minutes=5)) == now  # an overstayed break: leaves at once
    assert earliest_departure(now, now + timedelta(minutes=20)) == now + timedelta(minutes=20)

    rule = ReactiveInsertion(RoadFactorTravel())
    anna, oleg = uuid.uuid4(), uuid.uuid4()
    job = Job(uuid.uuid4(), 44.951, 34.101, 60, now + timedelta(hours=2), {"refrigeration": 2})
    away = Candidate(
        oleg, "Oleg", {"refrigeration": 3}, 44.95, 34.40, 44.95, 34.40, 23_600.0, 1, now + timedelta(hours=8)
    )  # about 45 minutes' drive

    def resting(minutes: int) -> Candidate:  # at the site itself, on a break for `minutes` more
        return Candidate(
            anna,
            "Anna",
            {"refrigeration": 3},
            44.95,
            34.10,
            44.95,
            34.10,
            100.0,
            1,
            now + timedelta(hours=8),
            break_ends_at=now + timedelta(minutes=minutes),
        )

    short = rule.decide(job, [resting(10), away], now)
    assert short.best is not None and short.best.technician_id == anna
    assert short.best.eta >= now + timedelta(minutes=10)  # not before the break is over
    long = rule.decide(job, [resting(60), away], now)
    assert long.best is not None and long.best.technician_id == oleg
    alone = rule.decide(job, [resting(60)], now)  # still a candidate: the only one, an hour later
    assert alone.best is not None and alone.best.technician_id == anna
    assert alone.best.eta >= now + timedelta(minutes=60)
