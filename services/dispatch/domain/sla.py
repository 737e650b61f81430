"""SLA risk: judged on the predicted arrival against the deadline, not on the time left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.dispatch.domain.breaks import BreakWindow, departure_after_break


@dataclass(frozen=True)
class SlaClock:
    response_due: datetime | None
    predicted_arrival: datetime | None  # None: nobody is on the way and nobody could be
    # False for unbooked work whose deadline is beyond the watch's horizon: nobody predicted it yet (the planner
    # books it long before), so it is not at risk; predicting each would be a placement per job per board read
    judged: bool = True

    def minutes_left(self, now: datetime) -> float | None:
        if self.response_due is None:
            return None
        return (self.response_due - now).total_seconds() / 60

    @property
    def at_risk(self) -> bool:
        if self.response_due is None or not self.judged:
            return False
        return self.predicted_arrival is None or self.predicted_arrival > self.response_due


def predicted_arrival(
    status: str,
    eta: datetime,
    now: datetime,
    travel_from_position: timedelta | None,
    busy_until: datetime | None = None,
    break_first: BreakWindow | None = None,
) -> datetime | None:
    """When the technician will really be there: on site already, the ETA, or later if the ETA has slipped.

    `travel_from_position` is the drive from the technician's live position; `busy_until` the end of the
    job they are on before this one (or of the break they are on); `break_first` a break they take before setting off.
    """
    if status in ("on_site", "completed", "failed"):
        return None
    earliest = departure_after_break(max(now, busy_until or now), break_first)
    if travel_from_position is None:
        return max(eta, earliest)
    return max(eta, earliest + travel_from_position)
