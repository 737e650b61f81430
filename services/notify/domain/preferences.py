"""Recipients' preferences: languages, channels and quiet hours (which urgent notices ignore)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

Language = Literal["ru", "en"]
# per-person channels a recipient can switch; live streams are per role and always on, webhooks are per customer
RecipientChannel = Literal["email"]

LANGUAGES: tuple[Language, ...] = ("ru", "en")


def is_time_zone(name: str) -> bool:
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def quiet_hours_end(now: datetime, time_zone: str, start: time | None, end: time | None) -> datetime | None:
    """When the quiet hours that contain `now` end (aware, in UTC terms of `now`), or None outside them.

    `start`..`end` are wall-clock times in the recipient's zone and may wrap midnight (22:00..07:00).
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(ZoneInfo(time_zone))
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    wall_end = datetime.combine(end_day, end, tzinfo=ZoneInfo(time_zone))
    return wall_end.astimezone(now.tzinfo)


def send_after(
    now: datetime, *, urgent: bool, time_zone: str, quiet_start: time | None, quiet_end: time | None
) -> datetime:
    """The earliest moment a notice may reach a recipient: now, or the end of their quiet hours."""
    if urgent:
        return now
    return quiet_hours_end(now, time_zone, quiet_start, quiet_end) or now
