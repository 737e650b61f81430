"""Issue 11 item 4: absences and shift edges at any moment never make the model infeasible.

The shift calendar (shift_on), what is left of the day at `now` (availability), the planner's shift
(planner_shift) and the solver, over random absences (starting now, in the past, before the shift, overlapping,
zero-length), clock times (around midnight and the shift's end, with microseconds) and overtime allowances.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.dispatch.domain.calendar import Absence, WeeklyShift, availability, local_midnight, shift_on
from services.dispatch.planning import (
    GeoPoint,
    Pin,
    PlanningOptions,
    PlanningProblem,
    Priority,
    RouteAssignment,
    SolveStatus,
    Technician,
    TimeWindow,
    Visit,
    plan_routes,
)
from services.dispatch.usecases.replanning import planner_shift

from .helpers import GridTravel

TZ = ZoneInfo("Europe/Simferopol")
DAY = date(2026, 12, 4)
ORIGIN = local_midnight(DAY, TZ)
MINUTE = timedelta(minutes=1)

clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
moments = st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=54)).map(lambda d: ORIGIN + d)
absence_lists = st.lists(
    st.tuples(moments, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30))).map(
        lambda p: Absence(p[0], p[0] + p[1], "sickness")
    ),
    max_size=3,
)
# absences placed around the clock's now: from now exactly, a hair either side, begun ten minutes ago, soon
around_now = st.lists(
    st.tuples(
        st.sampled_from(
            [timedelta(0), timedelta(microseconds=-1), timedelta(microseconds=1), -10 * MINUTE, 5 * MINUTE]
        ),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    ),
    max_size=2,
)


def replan(
    start: time,
    end: time,
    break_minutes: int,
    now: datetime,
    overtime: timedelta,
    absences: list[Absence],
    started: bool,
    locked_at: float,
    fresh: bool = False,
) -> None:
    weekly = (
        WeeklyShift(start, end, break_minutes, time(12, 0), time(14, 0)) if break_minutes else WeeklyShift(start, end)
    )
    span = shift_on(DAY, {"fri": weekly}, absences, TZ)
    if span is None:
        return
    free = availability(
        span.starts_at,
        span.ends_at,
        now,
        overtime,
        absences,
        break_minutes=span.break_minutes,
        break_earliest=span.break_earliest,
        break_latest=span.break_latest,
    )
    if free is None:
        return
    assert free.start <= free.end <= free.overtime_end
    assert free.start >= now and free.start >= span.starts_at
    assert all(
        not (a.starts_at < free.overtime_end and a.ends_at > free.start) for a in absences if a.ends_at > a.starts_at
    )
    shift = planner_shift(free, ORIGIN)
    assert shift.start <= shift.end and shift.overtime_limit >= 0
    for rule in shift.breaks:
        assert shift.start <= rule.earliest_start <= rule.latest_start
    now_s = max(0.0, (now - ORIGIN).total_seconds())
    anna = Technician("anna", GeoPoint(0, 0), (shift,), end_location=GeoPoint(0, 0))
    visits = [
        Visit("emergency", GeoPoint(3, 0), 1800.0, (TimeWindow(now_s, now_s + 4 * 3600),), priority=Priority.P1),
        Visit("planned", GeoPoint(10, 0), 1800.0, (TimeWindow(max(now_s, 19 * 3600), 86_400.0),)),
        Visit("locked", GeoPoint(5, 0), 1800.0, ()),
    ]
    pins = [Pin("emergency", "anna", 0, position=1), Pin("locked", "anna", 0, position=2, start_time=locked_at)]
    if started:
        visits.append(Visit("started", GeoPoint(0, 0), 1200.0, (TimeWindow(now_s, now_s),)))
        pins.insert(0, Pin("started", "anna", 0, position=0, frozen=True))
    problem = PlanningProblem(
        (anna,),
        tuple(visits),
        pins=tuple(pins),
        previous_routes=(RouteAssignment("anna", 0, tuple(v.id for v in visits)),),
        max_moves_per_route=3,
    )
    if fresh:  # our own construction and search, then OR-Tools warm-started: the path of a first plan
        problem = PlanningProblem((anna,), tuple(v for v in visits if v.id != "started"))
        visits = list(problem.visits)
    plan = plan_routes(problem, GridTravel(), PlanningOptions(time_limit=0.1))
    assert plan.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    assert {s.visit_id for r in plan.routes for s in r.stops} | {u.visit_id for u in plan.unassigned} == {
        v.id for v in visits
    }
    for route in plan.routes:
        assert route.start_time >= shift.start - 1e-6
        assert route.end_time <= shift.end + shift.overtime_limit + 1e-6


# derandomized: the same examples on every run and machine (CI stays reproducible); raise max_examples to hunt
@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=clock_times,
    end=clock_times,
    break_minutes=st.sampled_from([0, 30, 60]),
    now=moments.map(lambda m: m + timedelta(microseconds=123_457)),
    overtime=st.sampled_from([timedelta(0), 30 * MINUTE, 60 * MINUTE, 600 * MINUTE]),
    absences=absence_lists,
    from_now=around_now,
    started=st.booleans(),
    locked_at=st.floats(min_value=-3600.0, max_value=2 * 86_400.0, allow_nan=False),
    fresh=st.booleans(),
)
# the case: the shift ended 10 minutes ago, the overtime allowance runs, sick from now
@example(
    start=time(8),
    end=time(17),
    break_minutes=30,
    now=ORIGIN + timedelta(hours=17, minutes=10, microseconds=654_321),
    overtime=60 * MINUTE,
    absences=[
        Absence(ORIGIN + timedelta(hours=17, minutes=10, microseconds=654_321), ORIGIN + timedelta(days=3), "sickness")
    ],
    from_now=[],
    started=True,
    locked_at=17 * 3600.0 + 1200.5,
    fresh=False,
)
@example(
    start=time(8),
    end=time(17),
    break_minutes=0,
    now=ORIGIN + timedelta(hours=17, minutes=10, microseconds=654_321),
    overtime=60 * MINUTE,
    absences=[],
    from_now=[(timedelta(0), timedelta(days=2))],
    started=True,
    locked_at=18 * 3600.0,
    fresh=False,
)
def test_replanning_always_returns_a_plan(
    start: time,
    end: time,
    break_minutes: int,
    now: datetime,
    overtime: timedelta,
    absences: list[Absence],
    from_now: list[tuple[timedelta, timedelta]],
    started: bool,
    locked_at: float,
    fresh: bool,
) -> None:
    absences = absences + [Absence(now + at, now + at + length, "sickness") for at, length in from_now]
    replan(start, end, break_minutes, now, overtime, absences, started, locked_at, fresh)


def test_the_rest_of_a_shift_that_ended_inside_the_overtime_allowance_is_overtime_only() -> None:
    now = ORIGIN + timedelta(hours=17, minutes=10, microseconds=654_321)
    free = availability(ORIGIN + timedelta(hours=8), ORIGIN + timedelta(hours=17), now, 60 * MINUTE)
    assert free is not None and free.start == free.end == now and free.overtime_end == ORIGIN + timedelta(hours=18)
    shift = planner_shift(free, ORIGIN)
    assert shift.start == shift.end == 17 * 3600 + 10 * 60 + 1 and shift.overtime_limit == 50 * 60 - 1


def test_overtime_never_runs_into_an_absence_and_an_absence_from_now_ends_the_day() -> None:
    now = ORIGIN + timedelta(hours=15)
    sick = Absence(now, now + timedelta(days=2), "sickness")
    assert availability(ORIGIN + timedelta(hours=8), ORIGIN + timedelta(hours=17), now, 60 * MINUTE, [sick]) is None
    training = Absence(ORIGIN + timedelta(hours=17, minutes=20), ORIGIN + timedelta(hours=20), "training")
    free = availability(ORIGIN + timedelta(hours=8), ORIGIN + timedelta(hours=17), now, 60 * MINUTE, [training])
    assert free is not None and free.overtime_end == training.starts_at
