"""Pure rules of the live day (issue 11 item 5), without I/O: who the board shows absent or off shift, which
status sequences no one could really have made, and the one timestamp form of the APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.dispatch.domain.calendar import Absence
from services.dispatch.domain.plausibility import check_arrival, check_completion
from services.dispatch.domain.presence import absent_now, board_status
from shared.timestamps import in_utc, utc_z

TZ = ZoneInfo("Europe/Simferopol")
NOON = datetime(2030, 3, 4, 12, 0, tzinfo=TZ)


def test_a_sick_technician_is_absent_until_the_end_of_the_absences_that_follow_on() -> None:
    sick = Absence(NOON - timedelta(hours=2), NOON + timedelta(hours=6), "sickness")
    then_leave = Absence(NOON + timedelta(hours=6), NOON + timedelta(days=3), "leave")
    later = Absence(NOON + timedelta(days=5), NOON + timedelta(days=6), "training")
    now = absent_now([later, then_leave, sick], NOON)
    assert now is not None and now.kind == "sickness" and now.until == NOON + timedelta(days=3)
    assert absent_now([later], NOON) is None
    assert absent_now([sick], sick.ends_at) is None  # the absence is over at its end


@pytest.mark.parametrize(
    ("reported", "on_shift", "absent", "shown"),
    [
        ("available", True, False, "available"),
        ("available", True, True, "absent"),  # the sick call cut the shift, the app still says available
        ("available", False, True, "absent"),
        ("available", False, False, "off_shift"),
        ("on_break", False, False, "off_shift"),
        ("en_route", False, True, "en_route"),  # still out on a job: that is what the dispatcher must see
        ("on_site", False, False, "on_site"),
    ],
)
def test_the_board_shows_absent_and_off_shift_rather_than_available(
    reported: str, on_shift: bool, absent: bool, shown: str
) -> None:
    absence = absent_now([Absence(NOON, NOON + timedelta(hours=1), "sickness")], NOON) if absent else None
    assert board_status(reported, on_shift, absence) == shown


def test_on_site_seconds_after_en_route_from_60_km_is_implausible() -> None:
    flagged = check_arrival(NOON, NOON + timedelta(seconds=8), 60_000, timedelta(minutes=55), 20)
    assert flagged is not None and flagged.kind == "implausible_arrival"
    assert "8 s after en route from 60.0 km" in flagged.reason


def test_a_fast_but_possible_drive_and_a_short_hop_are_not_flagged() -> None:
    # a third of the model's time is the limit: 20 of 55 minutes passes
    assert check_arrival(NOON, NOON + timedelta(minutes=20), 60_000, timedelta(minutes=55), 20) is None
    assert check_arrival(NOON, NOON + timedelta(minutes=18), 60_000, timedelta(minutes=55), 20) is not None
    assert check_arrival(NOON, NOON + timedelta(seconds=5), 300, timedelta(minutes=1), 10) is None  # next door
    assert check_arrival(NOON, NOON + timedelta(seconds=5), None, None, None) is None  # nothing to judge by


def test_on_site_without_en_route_or_far_from_the_site_is_implausible() -> None:
    missing = check_arrival(None, NOON, None, None, None)
    assert missing is not None and "without being en route" in missing.reason
    far = check_arrival(NOON, NOON + timedelta(hours=1), 60_000, timedelta(minutes=55), 12_500)
    assert far is not None and "12.5 km away from the site" in far.reason


def test_completed_seconds_after_on_site_for_a_60_minute_job_is_implausible() -> None:
    flagged = check_completion(NOON, NOON + timedelta(seconds=30), timedelta(minutes=60))
    assert flagged is not None and flagged.kind == "implausible_completion"
    assert "30 s after arriving for a 60 min job" in flagged.reason
    assert check_completion(NOON, NOON + timedelta(minutes=25), timedelta(minutes=60)) is None
    assert check_completion(None, NOON, timedelta(minutes=60)) is None


def test_api_timestamps_are_utc_with_z_whatever_offset_they_carry() -> None:
    assert utc_z(NOON) == "2030-03-04T09:00:00Z"
    assert utc_z(datetime(2030, 3, 4, 9, 0, tzinfo=UTC)) == "2030-03-04T09:00:00Z"
    assert in_utc({"at": NOON, "route": [{"eta": NOON}], "n": 1, "day": "2030-03-04"}) == {
        "at": "2030-03-04T09:00:00Z",
        "route": [{"eta": "2030-03-04T09:00:00Z"}],
        "n": 1,
        "day": "2030-03-04",
    }
