"""KPI figures on a hand-computed scenario, without I/O.

Period [T0, T0+7d), as of T0+20d, tolerance 15 min, repeat window 30 days. Technicians A and B.

| job | filed    | unit | tech | due resp/fix | booked ETA | on site  | end               | survey   |
|-----|----------|------|------|--------------|------------|----------|-------------------|----------|
| J1  | T0       | U1   | A    | +4h / +8h    | +60m       | +70m     | completed +3h     | 5 / 10   |
| J2  | T0+1d    | U1   | B    | +4h / +8h    | +90m       | +300m    | completed +6h     | 3 / 7    |
| J3  | T0+2d    | U2   | A    | +2h / +4h    | +30m       | +45m     | failed (parts) +1h| -        |
| J4  | J3 + 1h  | U2   | B    | - / -        | +1d2h      | +1d2h20m | completed +1d3h   | 4 / 9    | follow-up of J3
| J5  | T0+3d    | -    | A    | +4h / +8h    | cancelled  | -        | request cancelled | -        |
| J6  | T0+4d    | -    | -    | +4h / +8h    | -          | -        | still open        | -        |
| J7  | T0+10d   | U1   | -    | -            | -          | -        | (after the period)| -        |

Response SLA: J1 met, J2 late, J3 met, J6 overdue → 2 of 4. Fix SLA: J1, J2 met; J3, J6 overdue → 2 of 4.
On time: J1 (10 late), J3 (15 late, on the boundary) yes; J2 (210 late), J4 (20 late) no → 2 of 4.
First-time fix: J1, J2 yes; J3 failed; J4 is a follow-up (not counted) → 2 of 3.
Repeat visits: J1 (J2 filed 21h after), J2 (J7 within 30 days) yes; J4 no later U2 request → 2 of 3.
Mean response (follow-ups left out): (70 + 300 + 45) / 3 = 138.33 min.
CSAT (5+3+4)/3 = 4.0. NPS: 2 promoters of 3 → 66.7.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from services.requests.domain.kpis import JobRecord, KpiPolicy, Ratio, Visit, compute_kpis, nps_score

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
A, B = uuid.uuid4(), uuid.uuid4()
CUSTOMER, S1, S2, U1, U2, K1, K2 = (uuid.uuid4() for _ in range(7))
H, M, D = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def _job(filed: datetime, **kwargs: object) -> JobRecord:
    return JobRecord(request_id=uuid.uuid4(), created_at=filed, customer_id=CUSTOMER, **kwargs)  # type: ignore[arg-type]


def _scenario() -> list[JobRecord]:
    t1, t2, t3, t5, t6 = T0, T0 + D, T0 + 2 * D, T0 + 3 * D, T0 + 4 * D
    t4 = t3 + H
    j3 = _job(
        t3,
        site_id=S2,
        equipment_id=U2,
        contract_id=K2,
        response_due=t3 + 2 * H,
        fix_due=t3 + 4 * H,
        visits=(Visit(A, t3 + 5 * M, promised_eta=t3 + 30 * M, on_site_at=t3 + 45 * M, failed_at=t3 + H),),
    )
    return [
        _job(
            t1,
            site_id=S1,
            equipment_id=U1,
            contract_id=K1,
            response_due=t1 + 4 * H,
            fix_due=t1 + 8 * H,
            visits=(Visit(A, t1 + 5 * M, promised_eta=t1 + 60 * M, on_site_at=t1 + 70 * M, completed_at=t1 + 3 * H),),
            csat=5,
            nps=10,
        ),
        _job(
            t2,
            site_id=S1,
            equipment_id=U1,
            contract_id=K1,
            response_due=t2 + 4 * H,
            fix_due=t2 + 8 * H,
            visits=(Visit(B, t2 + 10 * M, promised_eta=t2 + 90 * M, on_site_at=t2 + 300 * M, completed_at=t2 + 6 * H),),
            csat=3,
            nps=7,
        ),
        j3,
        _job(
            t4,
            site_id=S2,
            equipment_id=U2,
            contract_id=K2,
            follow_up_of=j3.request_id,
            visits=(
                Visit(
                    B,
                    t4 + D,
                    promised_eta=t4 + D + 2 * H,
                    on_site_at=t4 + D + 2 * H + 20 * M,
                    completed_at=t4 + D + 3 * H,
                ),
            ),
            csat=4,
            nps=9,
        ),
        _job(
            t5,
            site_id=S1,
            contract_id=K1,
            response_due=t5 + 4 * H,
            fix_due=t5 + 8 * H,
            cancelled_at=t5 + 10 * M,
            visits=(Visit(A, t5 + 2 * M, promised_eta=t5 + H, cancelled=True),),
        ),
        _job(t6, site_id=S1, contract_id=K1, response_due=t6 + 4 * H, fix_due=t6 + 8 * H),
        _job(T0 + 10 * D, site_id=S1, equipment_id=U1, contract_id=K1),
    ]


def _kpis(**kwargs: object):  # type: ignore[no-untyped-def]
    return compute_kpis(
        _scenario(),
        period_from=T0,
        period_to=T0 + 7 * D,
        as_of=T0 + 20 * D,
        policy=KpiPolicy(on_time_tolerance=15 * M, repeat_window=30 * D),
        **kwargs,
    )  # type: ignore[arg-type]


def test_the_whole_period_matches_the_hand_computed_figures() -> None:
    [row] = _kpis()
    assert row.requests == 6  # J7 was filed after the period: it only reveals a repeat visit
    assert row.response_sla == Ratio(count=4, hits=2) and row.response_sla.rate == 0.5
    assert row.fix_sla == Ratio(count=4, hits=2)
    assert row.on_time_arrival == Ratio(count=4, hits=2)
    assert row.first_time_fix == Ratio(count=3, hits=2) and row.first_time_fix.rate == 0.6667
    assert row.repeat_visits == Ratio(count=3, hits=2)
    assert row.mean_response_minutes == 138.33
    assert (row.csat_count, row.csat_mean) == (3, 4.0)
    assert (row.nps_count, row.nps) == (3, 66.7)


def test_per_technician() -> None:
    rows = {row.key: row for row in _kpis(group_by="technician")}
    assert set(rows) == {A, B, None}  # J5 (cancelled) and J6 (never assigned) credit nobody
    a, b = rows[A], rows[B]
    assert (a.requests, a.response_sla, a.fix_sla) == (2, Ratio(2, 2), Ratio(2, 1))
    assert (a.on_time_arrival, a.first_time_fix, a.repeat_visits) == (Ratio(2, 2), Ratio(2, 1), Ratio(1, 1))
    assert (a.mean_response_minutes, a.csat_mean, a.nps) == (57.5, 5.0, 100.0)
    assert (b.requests, b.response_sla, b.fix_sla) == (2, Ratio(1, 0), Ratio(1, 1))
    assert (b.on_time_arrival, b.first_time_fix, b.repeat_visits) == (Ratio(2, 0), Ratio(1, 1), Ratio(2, 1))
    assert (b.mean_response_minutes, b.csat_mean, b.nps) == (300.0, 3.5, 50.0)
    assert rows[None].requests == 2 and rows[None].response_sla == Ratio(1, 0)


def test_per_unit_contract_and_site() -> None:
    units = {row.key: row for row in _kpis(group_by="unit")}
    assert units[U1].requests == 2 and units[U1].repeat_visits == Ratio(2, 2)
    assert units[U2].first_time_fix == Ratio(1, 0) and units[U2].fix_sla == Ratio(1, 0)
    contracts = {row.key: row.requests for row in _kpis(group_by="contract")}
    assert contracts == {K1: 4, K2: 2}
    sites = {row.key: row.response_sla for row in _kpis(group_by="site")}
    assert sites == {S1: Ratio(3, 1), S2: Ratio(1, 1)}


def test_by_period() -> None:
    days = {row.period_start: row.requests for row in _kpis(bucket="day")}
    assert days == {date(2026, 3, d): 1 for d in (2, 3, 5, 6)} | {date(2026, 3, 4): 2}
    [week] = _kpis(bucket="week")
    assert week.period_start == date(2026, 3, 2) and week.requests == 6
    [month] = _kpis(bucket="month")
    assert month.period_start == date(2026, 3, 1)


def test_deadlines_not_yet_due_are_not_counted() -> None:
    [row] = compute_kpis(_scenario(), period_from=T0, period_to=T0 + 7 * D, as_of=T0 + 4 * D + H)
    assert row.response_sla == Ratio(count=3, hits=2)  # J6's response deadline has not passed yet
    assert row.fix_sla == Ratio(count=3, hits=2)


def test_nps_is_promoters_minus_detractors() -> None:
    assert nps_score([10, 9, 8, 7, 6, 0]) == 0.0
    assert nps_score([10, 10, 3]) == 33.3
    assert nps_score([]) is None


def test_emergency_response_and_lateness_against_the_first_promise_by_percentile() -> None:
    """Three emergencies reached in 10, 20 and 60 min and a routine job reached in 5 h: the emergency figures
    leave the routine job out. Lateness against the promise: 0 (early), 5, 15, 40 min."""
    emergencies = [
        _job(
            T0, site_id=S1, kind="emergency", visits=(Visit(A, T0, promised_eta=T0 + 15 * M, on_site_at=T0 + 10 * M),)
        ),
        _job(
            T0, site_id=S1, kind="emergency", visits=(Visit(A, T0, promised_eta=T0 + 15 * M, on_site_at=T0 + 20 * M),)
        ),
        _job(
            T0, site_id=S1, kind="emergency", visits=(Visit(B, T0, promised_eta=T0 + 20 * M, on_site_at=T0 + 60 * M),)
        ),
    ]
    routine = _job(
        T0, site_id=S2, kind="routine", visits=(Visit(B, T0, promised_eta=T0 + 285 * M, on_site_at=T0 + 5 * H),)
    )
    [row] = compute_kpis([*emergencies, routine], period_from=T0, period_to=T0 + D, as_of=T0 + D)
    assert row.emergency_response_median_minutes == 20.0
    assert row.emergency_response_p90_minutes == 52.0  # 20 + 0.8 x (60 - 20), interpolated as percentile_cont
    assert row.eta_late_median_minutes == 10.0  # of 0, 5, 15, 40
    assert row.eta_late_p90_minutes == 32.5  # 15 + 0.7 x (40 - 15)
    [quiet] = compute_kpis([routine], period_from=T0, period_to=T0 + D, as_of=T0 + D)
    assert quiet.emergency_response_median_minutes is None and quiet.eta_late_median_minutes == 15.0
