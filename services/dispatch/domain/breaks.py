"""A technician's floating break: whether there is still room for it, and what it does to an arrival.

A shift's break is `minutes` long and must start between `earliest` and `latest` (the shift calendar's
`break_earliest` / `break_latest`). Busy time is a booking's planned service span; a break is taken between
bookings, before the drive to the next one (the planner's rule: on the leg into the first stop whose service
would end after the break's latest start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

Span = tuple[datetime, datetime]  # [start, end) of a booking's service


@dataclass(frozen=True)
class BreakWindow:
    """A break of `minutes` to start anywhere in [earliest, latest]."""

    minutes: int
    earliest: datetime
    latest: datetime

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.minutes)


def shift_break(minutes: int | None, earliest: datetime | None, latest: datetime | None) -> BreakWindow | None:
    """The break of a stored shift, or None when the shift has none."""
    if not minutes or earliest is None or latest is None or latest < earliest:
        return None
    return BreakWindow(minutes, earliest, latest)


def break_still_due(window: BreakWindow | None, now: datetime, taken_until: datetime | None) -> BreakWindow | None:
    """What is left of the break to take from `now`.

    `taken_until`: the end of a break the technician took (or is taking) during this shift, if any. A break whose
    latest start has passed is no longer planned around (the planner drops it too).
    """
    if window is None or taken_until is not None or window.latest < now:
        return None
    return replace(window, earliest=max(window.earliest, now))


def break_left(
    window: BreakWindow | None, shift_start: datetime, taken_ends: Sequence[datetime | None], now: datetime
) -> BreakWindow | None:
    """The shift's break still to take from `now`: none if a break was taken (or is being taken) since the shift
    began. `taken_ends`: what records one: the technician's `break_ends_at` (only while the break lasts) and the
    end of the latest break in the command log (the only record of a break already over)."""
    taken = [end for end in taken_ends if end is not None and end > shift_start]
    return break_still_due(window, now, max(taken, default=None))


def room_for_break(window: BreakWindow, busy: Sequence[Span]) -> datetime | None:
    """The earliest start of the break within its window that is clear of every busy span; None if there is none."""
    start = window.earliest
    for busy_start, busy_end in sorted(busy):
        if busy_end <= start:
            continue
        if start + window.length <= busy_start:
            break
        start = busy_end
        if start > window.latest:
            return None
    return start if start <= window.latest else None


def squeezes_out_break(window: BreakWindow, others: Sequence[Span], booking: Span) -> bool:
    """True when `booking` takes the last room for the break: with `others` alone there was some.

    A day that had no room already (a planner's or an earlier override's doing) is not blamed on this booking.
    """
    return room_for_break(window, others) is not None and room_for_break(window, [*others, booking]) is None


def break_before_stop(window: BreakWindow | None, stops: Sequence[Span], stop: Span) -> BreakWindow | None:
    """The break if it is taken on the way to `stop`: the first of the day's remaining `stops` (in any order,
    `stop` among them) whose service would end after the break's latest start."""
    if window is None:
        return None
    first = min((s for s in stops if s[1] > window.latest), default=None)
    return window if first == stop else None


def break_taken_before(window: BreakWindow, ends: Sequence[datetime]) -> int:
    """Where on a route the break is taken (the rule of `break_before_stop`): the index of the first stop, of those
    ending at `ends` in route order, whose service would end after the break's latest start; len(ends) when none
    does (after the last stop)."""
    return next((i for i, end in enumerate(ends) if end > window.latest), len(ends))


def departure_after_break(free_from: datetime, window: BreakWindow | None) -> datetime:
    """When a technician free from `free_from` sets off, having first taken `window`'s break if given."""
    if window is None:
        return free_from
    return max(free_from, window.earliest) + window.length
