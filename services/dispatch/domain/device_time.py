"""When a device's clock is believed. A technician's phone reports the time of each step and fix, and it may have
been offline for hours, so that time is kept; but it is believed only within bounds, or SLA figures and live
positions could be forged: a step back-dated to 2001 once gave a mean response of minus 13 million minutes, and a
fix dated 2099 froze a technician's live position.

- at most OFFLINE_ALLOWANCE behind the server's clock (the longest a queued command is worth replaying);
- at most AHEAD_ALLOWANCE ahead of it (clocks drift; the apps correct theirs by the server's time);
- never before the booking was made (when a step is about a booking).
The server's receipt time is always kept beside the device's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["AHEAD_ALLOWANCE", "OFFLINE_ALLOWANCE", "device_time_refusal"]

OFFLINE_ALLOWANCE = timedelta(hours=24)
AHEAD_ALLOWANCE = timedelta(minutes=2)


def device_time_refusal(at: datetime, now: datetime, booked_at: datetime | None = None) -> str | None:
    """Why ``at`` (a device's time) is not believed at the server's ``now``, or None when it is."""
    if at > now + AHEAD_ALLOWANCE:
        return f"is ahead of the server's clock by more than {AHEAD_ALLOWANCE.total_seconds() / 60:g} minutes"
    if at < now - OFFLINE_ALLOWANCE:
        return f"is more than {OFFLINE_ALLOWANCE.total_seconds() / 3600:g} hours before the server's clock"
    if booked_at is not None and at < booked_at:
        return "is before the booking was made"
    return None
