"""The one source of "now" for every service: real, fixed (tests) or a simulated timeline.

Everything that needs the time of day or waits for a span of the company's time takes a `Clock`
(built once in `create_app` from the settings, or handed in by a test). This module is the only
place that reads the wall clock; a ruff rule (banned-api) keeps it that way.

A simulated timeline is shared by every service through settings: `CLOCK_START` is the simulated
instant that corresponds to the real instant `CLOCK_ANCHOR` (Unix seconds), and `CLOCK_SPEED` says
how many simulated seconds pass per real second. Processes started at different moments with the
same three values read the same simulated time.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "FixedClock", "SimulatedClock", "SystemClock", "clock_from_settings", "wall_time"]


def wall_time() -> float:
    """The real time in Unix seconds: for anchoring a simulated timeline, never for the company's "now"."""
    return time.time()


class Clock(ABC):
    """Aware UTC instants and waits measured on this clock's timeline; call it like a function for `now()`."""

    @abstractmethod
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed on this clock's timeline."""

    @property
    def speed(self) -> float:
        """Seconds of this clock per real second (1 for real time)."""
        return 1.0

    def __call__(self) -> datetime:
        return self.now()

    def unix(self) -> int:
        """`now()` as whole Unix seconds (token lifetimes and the like)."""
        return int(self.now().timestamp())


class SystemClock(Clock):
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FixedClock(Clock):
    """Stands still until told to move: for tests that depend on the date or the hour."""

    def __init__(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta or seconds); returns the new now."""
        self._at += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self._at

    async def sleep(self, seconds: float) -> None:
        # The fixed time only moves when the test moves it; a real wait keeps periodic loops from spinning.
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock(Clock):
    """A timeline that starts at ``start`` at the real instant ``anchor`` and runs ``speed`` times real time."""

    def __init__(self, start: datetime, speed: float = 1.0, anchor: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("a simulated clock's speed must be positive")
        self.start = _aware_utc(start)
        self.anchor = wall_time() if anchor is None else anchor
        self._speed = float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(wall_time() - self.anchor) * self._speed)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._speed)


def clock_from_settings(start: datetime | None, speed: float = 1.0, anchor: float | None = None) -> Clock:
    """The real clock unless a simulated start or a speed other than 1 is set."""
    if start is None and speed == 1.0:
        return SystemClock()
    return SimulatedClock(start if start is not None else SystemClock().now(), speed, anchor)


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("a clock's instant must carry a time zone")
    return at.astimezone(UTC)
