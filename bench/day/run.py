"""One simulated day under one dispatch policy, on a private stack: seed, plan the morning, play, measure."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.day.metrics import day_metrics
from bench.day.morning import morning
from bench.day.player import Player
from bench.day.scenario import Scenario
from bench.day.stack import DayStack, Timeline, anchor_in, day_stack
from deploy.local.company.generator import Company
from shared.auth import Role
from shared.clock import SimulatedClock, wall_time

__all__ = ["DayRun", "play_day", "settled"]


@dataclass(frozen=True)
class DayRun:
    policy: str
    speed: float
    wall_s: float
    metrics: dict[str, Any]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def service_env(policy: str, speed: float, planner_time_limit_s: float) -> dict[str, str]:
    """Settings for a day at ``speed``: periodic loops stretched so none of them spins at a high clock speed."""
    every = max(1.0, speed)  # about once a real second at most
    return {
        "FIELDLINE_DISPATCH_POLICY": policy,
        "FIELDLINE_DISPATCH_PLANNER_TIME_LIMIT_S": str(planner_time_limit_s),
        "FIELDLINE_DISPATCH_REPLAN_POLL_S": str(max(2.0, every)),
        "FIELDLINE_DISPATCH_SLA_CHECK_INTERVAL_S": str(max(30.0, every)),
        "FIELDLINE_DISPATCH_OVERRUN_CHECK_INTERVAL_S": str(max(60.0, every)),
        "FIELDLINE_DISPATCH_EMERGENCY_RETRY_INTERVAL_S": str(max(60.0, every)),
        "FIELDLINE_DISPATCH_PLAN_INTERVAL_S": "0",  # the morning plan, then re-plans on events only
        "FIELDLINE_CONTRACTS_VISIT_SWEEP_INTERVAL_S": "0",  # generated once, in the morning
        "FIELDLINE_CONTRACTS_VISIT_HORIZON_DAYS": "3",  # the days around the played one: fewer events and re-plans
        "FIELDLINE_LOG_LEVEL": "WARNING",
    }


_BACKLOG = " + ".join(
    f"(SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL)"
    for schema in ("contracts", "requests", "dispatch", "notify")
)
_HANDLED = " + ".join(
    f"(SELECT count(*) FROM {schema}.processed_messages)" for schema in ("contracts", "requests", "dispatch", "notify")
)


async def settled(database_url: str, timeout_s: float = 60.0) -> bool:
    """Waits until every outbox is published and the consumers have handled nothing new for a second; False when
    events were still moving after ``timeout_s``."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout_s
        handled = -1
        while time.monotonic() < deadline:
            backlog = int(await conn.fetchval(f"SELECT {_BACKLOG}"))
            now_handled = int(await conn.fetchval(f"SELECT {_HANDLED}"))
            if backlog == 0 and now_handled == handled:
                return True
            handled = now_handled
            await asyncio.sleep(1.0)
        _say(f"  events still moving after {timeout_s:.0f} s; reading the records as they are")
        return False
    finally:
        await conn.close()


def play_day(
    company: Company,
    scenario: Scenario,
    policy: str,
    speed: float = 120.0,
    planner_time_limit_s: float = 20.0,
    replan_time_limit_s: float = 1.0,
    workdir: Path | None = None,
    keep_database: bool = False,
) -> DayRun:
    """Plays ``scenario`` under ``policy`` on a fresh stack and returns the day's numbers from its records.

    ``planner_time_limit_s``: the morning plan's (at real speed); ``replan_time_limit_s``: each re-plan's during
    the day (real seconds)."""
    started = time.monotonic()
    with day_stack(workdir, keep_database) as day:
        _say(f"[{policy}] morning: seeding, generating visits, planning {scenario.day}")
        # the morning runs at real speed two hours before the day starts: seeding and planning take real time
        before = Timeline(scenario.day_start - timedelta(hours=2), 1.0, anchor_in(0))
        day.start(before, service_env(policy, 1.0, planner_time_limit_s))
        seeded = morning(day.urls(), day.token, day.database_url, company, scenario)

        _say(f"[{policy}] the day: {scenario.day_start:%H:%M}Z to {scenario.day_end:%H:%M}Z at {speed:g}x")
        # a re-plan's thinking time passes `speed` times faster in the simulated day, and while the planner holds a
        # core the API answers the technicians slower: 5 s at 120x stretched drives fourfold (pings 13.5 simulated
        # minutes apart instead of 3) and cost Fieldline a fifth of its response SLA; 1 s keeps it to 2 minutes
        # the lead: twice as long as the morning's start took (this start also stops the morning's services), so the
        # day rarely has to be started twice
        lead_s = max(8.0, 2.0 * day.last_start_s + 4.0)
        timeline = _start_the_day(day, scenario, speed, service_env(policy, speed, replan_time_limit_s), lead_s)
        clock = SimulatedClock(timeline.start, timeline.speed, timeline.anchor)
        player = Player(scenario, company, seeded, day.urls(), day.token, clock)
        asyncio.run(_play(player, clock, scenario))
        # the last events reach every service before their records are read
        asyncio.run(settled(day.database_url))
        metrics = asyncio.run(
            day_metrics(
                day.database_url,
                day.urls()["requests"],
                day.token(Role.DISPATCHER, "day-report"),
                scenario.day_start,
                scenario.day_end,
                clock.now(),
            )
        )
        metrics["database_url"] = day.database_url if keep_database else None
    return DayRun(policy, speed, round(time.monotonic() - started, 1), metrics)


def _start_the_day(
    day: DayStack, scenario: Scenario, speed: float, env: dict[str, str], lead_s: float = 8.0
) -> Timeline:
    """Start the services on the day's timeline, which begins `lead_s` real seconds from now: if they take longer
    to be ready, the simulated day would already be running without anyone in it (on a loaded machine a start took
    95 s, and at 180x the emergencies were filed five simulated hours late); start them again with more lead."""
    for _ in range(4):
        timeline = Timeline(scenario.day_start, speed, anchor_in(lead_s))
        day.start(timeline, env)
        late = wall_time() - timeline.anchor
        if late <= 0:
            return timeline
        _say(f"  the services were ready {late:.1f} s after the day began; starting them again with more lead")
        lead_s = 2 * (lead_s + late)
    raise RuntimeError("the services could not be started before the simulated day began (is the machine overloaded?)")


async def _play(player: Player, clock: SimulatedClock, scenario: Scenario) -> None:
    wait = (scenario.day_start - clock.now()).total_seconds() / clock.speed
    if wait > 0:
        await asyncio.sleep(wait)
    await player.run()
