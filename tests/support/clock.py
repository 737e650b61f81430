"""The instant the suites call "now": fixed, so no test depends on the day it runs.

`FIELDLINE_TEST_NOW` (an ISO 8601 instant with an offset) moves it; `make test-dates` runs the
date-sensitive suites at a Monday, a Friday, a Sunday, a month's last day, 31 December and DST
change days. Suites build their apps with a `FixedClock` at this instant and move it themselves.
"""

from __future__ import annotations

import os
from datetime import datetime

from shared.clock import FixedClock

DEFAULT_TEST_NOW = "2026-12-04T10:15:00+03:00"  # a Friday morning in Simferopol


def suite_now() -> datetime:
    """The suite's "now" (`FIELDLINE_TEST_NOW`, else a fixed Friday morning)."""
    raw = os.environ.get("FIELDLINE_TEST_NOW", DEFAULT_TEST_NOW)
    at = datetime.fromisoformat(raw)
    if at.tzinfo is None:
        raise ValueError(f"FIELDLINE_TEST_NOW needs an offset: {raw!r}")
    return at


def suite_clock() -> FixedClock:
    """A fresh fixed clock at the suite's "now", for one app or one test to move as it needs."""
    return FixedClock(suite_now())
