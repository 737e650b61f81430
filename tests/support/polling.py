"""Waiting for asynchronous work (consumers, relays, background loops) to reach a state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], object] = bool,
    *,
    what: str = "",
    timeout_s: float = 15.0,
    interval_s: float = 0.05,
) -> T:
    """Polls ``probe`` every ``interval_s`` until ``done`` holds for its value (by default: the value is truthy)
    and returns it; fails naming ``what`` and the last value seen. A bound on waiting, not a performance assertion."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = await probe()
        if done(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(
                f"never happened within {timeout_s} s: {what or 'the condition'}; last value: {value!r}"
            )
        await asyncio.sleep(interval_s)
