"""Why a visit was left out: the first check, in order, that no technician-day passes."""

from __future__ import annotations

from .instance import RoutingInstance, in_day_range, is_skilled
from .model import UnassignedReason

_EPS = 1e-6


def _fits_alone(instance: RoutingInstance, k: int, v: int) -> UnassignedReason | None:
    """None if visit k fits on vehicle v when that route serves nothing else, else what stops it."""
    visit, vehicle = instance.visits[k], instance.vehicles[v]
    shift = vehicle.shift
    node = instance.visit_nodes[k]
    there = float(instance.travel[vehicle.start_node, node])
    back = float(instance.travel[node, vehicle.end_node])
    if vehicle.technician.capacity is not None and visit.demand > vehicle.technician.capacity:
        return UnassignedReason.CAPACITY
    if shift.max_travel is not None and there + back > shift.max_travel + _EPS:
        return UnassignedReason.MAX_TRAVEL
    day_end = shift.end + shift.overtime_limit
    windows = [(w.start, w.end) for w in visit.windows] or [(shift.start, day_end)]
    # Latest service start that still gets the technician home before the hard end of the shift.
    latest_start = day_end - visit.service_duration - back
    if not any(a <= day_end and b >= shift.start for a, b in windows):
        return UnassignedReason.OUTSIDE_EVERY_SHIFT
    earliest_arrival = shift.start + there
    if not any(max(a, earliest_arrival) <= min(b, latest_start) + _EPS for a, b in windows):
        return UnassignedReason.WINDOW_UNREACHABLE
    return None


def diagnose(instance: RoutingInstance, k: int, previously_routed: bool) -> tuple[UnassignedReason, str]:
    visit = instance.visits[k]
    if k in instance.pins:
        pin = instance.pins[k]
        if not instance.allowed[k]:
            return UnassignedReason.PINNED_INFEASIBLE, f"no shift of {pin.technician_id} on day {pin.day}"
        reason = _fits_alone(instance, k, instance.allowed[k][0])
        detail = f"pinned to {pin.technician_id} day {pin.day}"
        return UnassignedReason.PINNED_INFEASIBLE, detail + (f": {reason.value}" if reason else "")
    skilled = [v for v, veh in enumerate(instance.vehicles) if is_skilled(veh.technician, visit)]
    if not skilled:
        needed = ", ".join(f"{s}>={lvl}" for s, lvl in sorted(visit.required_skills.items()))
        return UnassignedReason.NO_SKILLED_TECHNICIAN, f"needs {needed}"
    on_day = [v for v in skilled if in_day_range(instance.vehicles[v].shift, visit)]
    if not on_day:
        return UnassignedReason.OUTSIDE_DAY_RANGE, f"no skilled shift on days {visit.earliest_day}..{visit.latest_day}"
    allowed = set(instance.allowed[k])
    on_day_here = [v for v in on_day if v in allowed]  # what the territory rule leaves of them
    if not on_day_here:
        return UnassignedReason.OUTSIDE_TERRITORY, (
            f"all {len(on_day)} skilled technician-days are outside the site's territory, and crossing is forbidden"
        )
    on_day = on_day_here
    reasons = [_fits_alone(instance, k, v) for v in on_day]
    if any(r is None for r in reasons):
        if previously_routed and instance.max_moves_per_route is not None:
            return UnassignedReason.CHANGE_BUDGET, "fits, but moving it exceeds the change budget"
        return UnassignedReason.NO_TIME_LEFT, "fits alone, but shifts are full of higher-value work"
    # The reason that blocks the most candidate technician-days is the most telling one.
    found = [r for r in reasons if r is not None]
    worst = max(set(found), key=found.count)
    return worst, f"for all {len(on_day)} skilled technician-days"
