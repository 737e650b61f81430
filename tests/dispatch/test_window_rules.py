"""A job's windows as pure rules (issue 17): several windows stay apart, access hours cut a visit's window, a time
is inside one window or refused, and a stop waiting for its window is promised the window."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.dispatch.domain.records import JobRecord
from services.dispatch.domain.windows import (
    EVER_AFTER,
    EVER_BEFORE,
    Window,
    access_windows,
    describe,
    earliest_start,
    hull,
    intersected,
    job_windows,
    kept_windows,
    merged,
    visit_windows,
    window_at,
    windows_json,
)
from services.dispatch.planning import Stop, TimeWindow
from services.dispatch.usecases.replanning import promised_arrival
from tests.support.dispatch_records import job_record

TZ = ZoneInfo("Europe/Simferopol")  # UTC+3


def local(day: int, hh: int, mm: int = 0) -> datetime:
    """2030-03-04 is a Monday."""
    return datetime(2030, 3, day, hh, mm, tzinfo=TZ)


MONDAY_EARLY = Window(local(4, 7), local(4, 7, 30))
TUESDAY_LATE = Window(local(5, 16), local(5, 16, 30))


def test_windows_stay_apart_and_only_overlapping_ones_join() -> None:
    assert merged([TUESDAY_LATE, MONDAY_EARLY]) == (MONDAY_EARLY, TUESDAY_LATE)
    assert merged([Window(local(4, 9), local(4, 11)), Window(local(4, 10), local(4, 12))]) == (
        Window(local(4, 9), local(4, 12)),
    )
    assert merged([Window(local(4, 11), local(4, 9))]) == ()  # ends before it starts: no time
    assert hull([MONDAY_EARLY, TUESDAY_LATE]) == (local(4, 7), local(5, 16, 30))
    assert hull([]) == (None, None)


def test_a_moment_in_the_gap_is_in_no_window_and_the_next_opening_is_the_second_window() -> None:
    windows = (MONDAY_EARLY, TUESDAY_LATE)
    assert window_at(windows, local(4, 7, 10)) == MONDAY_EARLY
    assert window_at(windows, local(5, 16, 30)) == TUESDAY_LATE  # the end is still inside
    assert window_at(windows, local(4, 12)) is None
    assert window_at(None, local(4, 12)) is None  # no windows: none holds it (and none is needed)
    assert earliest_start(windows, local(4, 6)) == local(4, 7)
    assert earliest_start(windows, local(4, 7, 20)) == local(4, 7, 20)
    assert earliest_start(windows, local(4, 8)) == local(5, 16)
    assert earliest_start(windows, local(5, 17)) is None
    assert earliest_start(None, local(5, 17)) == local(5, 17)


def test_access_hours_cut_a_visits_window_into_the_sites_open_stretches() -> None:
    hours = {"mon": [["08:00", "12:00"], ["14:00", "18:00"]], "tue": [["10:00", "16:00"]]}
    windows = visit_windows(local(4, 9), local(5, 12), hours, TZ)
    assert windows == (
        Window(local(4, 9), local(4, 12)),
        Window(local(4, 14), local(4, 18)),
        Window(local(5, 10), local(5, 12)),
    )
    assert visit_windows(local(4, 9), local(5, 12), None, TZ) is None  # no access hours: the due window alone
    assert visit_windows(local(4, 9), local(4, 17), {"sun": [["08:00", "20:00"]]}, TZ) == ()  # closed all along


def test_an_overnight_stretch_runs_past_midnight_and_a_full_day_is_open_all_day() -> None:
    night = access_windows({"sun": [["22:00", "06:00"]]}, TZ, local(4, 0), local(4, 12))
    assert night == (Window(local(4, 0), local(4, 6)),)  # Sunday night's stretch, still open on Monday
    whole = access_windows({"mon": [["00:00", "00:00"]]}, TZ, local(4, 5), local(4, 20))
    assert whole == (Window(local(4, 5), local(4, 20)),)


def test_the_list_round_trips_through_the_row_and_old_rows_keep_their_one_window() -> None:
    stored = windows_json((MONDAY_EARLY, TUESDAY_LATE))
    assert stored == [
        ["2030-03-04T04:00:00+00:00", "2030-03-04T04:30:00+00:00"],
        ["2030-03-05T13:00:00+00:00", "2030-03-05T13:30:00+00:00"],
    ]
    assert job_windows(stored, local(4, 7), local(5, 16, 30)) == (MONDAY_EARLY, TUESDAY_LATE)
    assert job_windows(None, local(4, 7), local(5, 16, 30)) == (Window(local(4, 7), local(5, 16, 30)),)
    assert job_windows(None, None, local(5, 16)) == (Window(EVER_BEFORE, local(5, 16)),)
    assert job_windows(None, local(5, 16), None) == (Window(local(5, 16), EVER_AFTER),)
    assert job_windows(None, None, None) is None
    assert windows_json(None) is None


def test_intersection_with_a_day_keeps_only_what_falls_in_it() -> None:
    day = Window(local(5, 0), local(6, 0))
    assert intersected((MONDAY_EARLY, TUESDAY_LATE), (day,)) == (TUESDAY_LATE,)
    assert intersected((Window(EVER_BEFORE, local(5, 10)),), (day,)) == (Window(local(5, 0), local(5, 10)),)


def _job(kind: str, **fields: object) -> JobRecord:
    given: dict[str, Any] = {"priority": "P3", "response_due": local(4, 7, 30), "duration_minutes": 45, **fields}
    return job_record(kind=kind, **given)


def test_which_windows_bind_a_booking() -> None:
    stored = windows_json((MONDAY_EARLY, TUESDAY_LATE))
    both = (MONDAY_EARLY, TUESDAY_LATE)
    assert kept_windows(_job("routine", windows=stored, window_start=local(4, 7), window_end=local(5, 16, 30))) == both
    # routine work with no window of the customer's: its window_end is the SLA deadline, no window
    assert kept_windows(_job("routine", window_end=local(4, 7, 30))) is None
    assert kept_windows(_job("emergency", window_end=local(4, 7, 30))) is None
    due = (Window(local(4, 9), local(6, 17)),)
    assert kept_windows(_job("planned", window_start=local(4, 9), window_end=local(6, 17))) == due


def test_a_refusal_says_the_windows_in_local_time() -> None:
    assert describe((MONDAY_EARLY, TUESDAY_LATE), TZ) == "Mon 04.03 07:00-07:30, Tue 05.03 16:00-16:30"
    assert describe((Window(local(4, 22), local(5, 6)),), TZ) == "Mon 04.03 22:00-Tue 05.03 06:00"
    assert describe((Window(EVER_BEFORE, local(5, 6)),), TZ) == "until Tue 05.03 06:00"
    assert describe((), TZ) == "no time at all"


def test_a_stop_that_waits_for_its_window_is_promised_the_windows_opening() -> None:
    windows = (TimeWindow(7 * 3600.0, 7.5 * 3600.0), TimeWindow(16 * 3600.0, 16.5 * 3600.0))

    def stop(arrival: float, start: float) -> Stop:
        return Stop("v", arrival=arrival, start=start, departure=start + 2700, travel_from_previous=600, wait=0)

    # there at 15:40, waits for 16:00: the customer is told 16:00, not a time before the window they chose
    assert promised_arrival(stop(15 * 3600 + 2400, 16 * 3600), windows) == 16 * 3600
    assert promised_arrival(stop(16 * 3600 + 600, 16 * 3600 + 600), windows) == 16 * 3600 + 600
    assert promised_arrival(stop(9 * 3600, 9 * 3600), ()) == 9 * 3600  # no windows: the arrival
    # a pinned start outside every window (a dispatcher's): the arrival as it is
    assert promised_arrival(stop(11 * 3600, 12 * 3600), windows) == 11 * 3600


def test_unreadable_access_hours_are_refused_for_the_caller_to_fall_back_on_the_due_window() -> None:
    with pytest.raises(ValueError):
        visit_windows(local(4, 9), local(4, 17), {"mon": [["25:00", "26:00"]]}, TZ)
    with pytest.raises(ValueError):
        visit_windows(local(4, 9), local(4, 17), {"mon": [["08:00", "12:00", "14:00"]]}, TZ)
