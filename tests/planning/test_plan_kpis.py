"""Issue 11 item 3: emergency response time and arrival against the first promised ETA, as plan KPIs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.dispatch.domain.kpis import Promise, p90, promise_kpis

T0 = datetime(2030, 3, 4, 7, 0, tzinfo=UTC)
TOLERANCE = timedelta(minutes=15)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def test_emergency_response_median_and_p90_count_from_the_request() -> None:
    # the day: booked 3 minutes out, then pushed to one second before the deadline by a re-plan
    promises = [Promise(minutes(0), minutes(3 + k), minutes(3 + k), emergency=True) for k in range(9)]
    promises.append(Promise(minutes(0), minutes(3), minutes(240), emergency=True))
    kpis = promise_kpis(promises, TOLERANCE)
    assert kpis["emergencies"] == 10
    assert kpis["emergency_response_median_minutes"] == 7.5
    assert kpis["emergency_response_p90_minutes"] == 11.0
    assert kpis["eta_late_p90_minutes"] == 0.0  # nine of ten on their promise
    assert kpis["eta_within_tolerance_share"] == 0.9


def test_arrival_against_the_first_promised_eta() -> None:
    promises = [
        Promise(None, minutes(60), minutes(60), emergency=False),  # on time
        Promise(None, minutes(60), minutes(70), emergency=False),  # 10 late: within
        Promise(None, minutes(60), minutes(143), emergency=False),  # 83 late
        Promise(None, minutes(60), minutes(20), emergency=False),  # 40 early: not late, but outside the tolerance
    ]
    kpis = promise_kpis(promises, TOLERANCE)
    assert kpis["emergencies"] == 0 and kpis["emergency_response_median_minutes"] is None
    assert kpis["eta_late_median_minutes"] == 5.0
    assert kpis["eta_late_p90_minutes"] == 83.0
    assert kpis["eta_within_tolerance_share"] == 0.5


def test_an_empty_plan_has_no_figures_rather_than_zeros() -> None:
    kpis = promise_kpis([], TOLERANCE)
    assert kpis["promised"] == 0 and kpis["eta_within_tolerance_share"] is None and kpis["eta_late_p90_minutes"] is None


def test_p90_is_the_nearest_rank() -> None:
    assert p90([5.0]) == 5.0
    assert p90([float(k) for k in range(1, 11)]) == 9.0
    assert p90([float(k) for k in range(1, 21)]) == 18.0
