"""When to try a failed delivery again, and when to give up."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter, retried until `window` after the first attempt was due."""

    base: timedelta
    cap: timedelta
    window: timedelta

    def delay(self, attempt: int, draw: Callable[[float, float], float] = random.uniform) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based): half fixed, half jitter.

        Half-fixed keeps a flapping endpoint from being hammered; the jitter spreads retries of many
        deliveries that failed together (an endpoint that was down for everyone).
        """
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** max(attempt - 1, 0))
        return timedelta(seconds=ceiling / 2 + draw(0.0, ceiling / 2))

    def next_attempt(
        self, now: datetime, attempt: int, give_up_at: datetime, draw: Callable[[float, float], float] = random.uniform
    ) -> datetime | None:
        """When to try again after failed attempt `attempt`, or None once that would be past `give_up_at`."""
        at = now + self.delay(attempt, draw)
        return at if at <= give_up_at else None
