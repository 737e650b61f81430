"""Runtime.every: the one periodic loop of the services (sweeps, re-plans, watches, reports)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from shared.clock import SystemClock
from shared.service import Runtime
from tests.support.polling import eventually


def bare_runtime() -> Runtime:
    none: Any = None
    return Runtime(settings=none, clock=SystemClock(), db=none, nc=none, js=none, tables=none, relay=none)


async def test_a_failed_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="shared.service")
    runtime, rounds = bare_runtime(), []

    async def work() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("the database blinked")

    runtime.every(0.01, "test loop", work)
    await eventually(lambda: asyncio.sleep(0, result=len(rounds)), lambda n: n >= 3, what="three rounds")
    for task in runtime.tasks:
        task.cancel()
    assert [t.get_name() for t in runtime.tasks] == ["test loop"]
    # the one failed round, and only it, is logged by name with its traceback
    (logged,) = [r for r in caplog.records if r.name == "shared.service" and r.levelno == logging.ERROR]
    assert logged.getMessage() == "test loop failed; next round in 0.01 s"
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], RuntimeError)
    assert str(logged.exc_info[1]) == "the database blinked"


async def test_now_false_waits_a_period_first_and_zero_seconds_starts_nothing() -> None:
    runtime, rounds = bare_runtime(), []

    async def work() -> None:
        rounds.append(1)

    runtime.every(0, "off", work)
    assert runtime.tasks == []
    runtime.every(3600, "hourly", work, now=False)
    runtime.every(3600, "hourly, now", work)
    await eventually(lambda: asyncio.sleep(0, result=len(rounds)), what="the first round of the loop that starts now")
    await asyncio.sleep(0)  # one more turn of the event loop: the hourly loop is asleep, not about to run
    assert rounds == [1], "only the loop that starts at once has run"
    for task in runtime.tasks:
        task.cancel()
