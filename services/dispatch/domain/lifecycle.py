"""The assignment lifecycle: offered → accepted → en_route → on_site → completed / failed, or cancelled."""

from __future__ import annotations

ACTIVE = frozenset({"offered", "accepted", "en_route", "on_site"})
STARTED = frozenset({"en_route", "on_site"})  # the technician is on it: re-plans never move these
TERMINAL = frozenset({"completed", "failed", "cancelled", "declined"})
FAILURE_OUTCOMES = frozenset({"needs_parts", "no_access", "customer_absent"})

ALLOWED: dict[str, frozenset[str]] = {
    "offered": frozenset({"accepted", "declined", "cancelled"}),
    "accepted": frozenset({"en_route", "declined", "cancelled"}),
    "en_route": frozenset({"on_site", "cancelled"}),
    # a dispatcher calls off a visit in progress (the request was cancelled); a technician ends it with a report
    "on_site": frozenset({"completed", "failed", "cancelled"}),
}

# what the technician is doing while an assignment is in a status; None: back to available
TECHNICIAN_STATUS: dict[str, str | None] = {
    "en_route": "en_route",
    "on_site": "on_site",
    "completed": None,
    "failed": None,
    "cancelled": None,
    "declined": None,
}

TECHNICIAN_STATUSES = frozenset({"off_shift", "available", "en_route", "on_site", "on_break"})


class TransitionRefused(ValueError):
    pass


def check_transition(current: str, target: str, outcome: str | None = None) -> None:
    """Raises TransitionRefused with the reason when `target` cannot follow `current`."""
    if current == target:
        return
    allowed = ALLOWED.get(current, frozenset())
    if target not in allowed:
        expected = ", ".join(sorted(allowed)) or "nothing (it is final)"
        raise TransitionRefused(f"cannot go from {current} to {target}; next may be: {expected}")
    if target == "failed" and outcome not in FAILURE_OUTCOMES:
        raise TransitionRefused(f"a failed visit needs an outcome: one of {', '.join(sorted(FAILURE_OUTCOMES))}")


def event_status(status: str) -> str:
    """Events know no 'declined': for everyone else the offer was withdrawn."""
    return "cancelled" if status == "declined" else status


def status_after_break(current: str, on_break: bool) -> str:
    """The technician's status after starting (`on_break`) or ending a break; TransitionRefused if it cannot be."""
    if on_break:
        if current in ("available", "on_break"):
            return "on_break"
        raise TransitionRefused(f"cannot start a break while {current.replace('_', ' ')}")
    if current in ("on_break", "available"):
        return "available"
    raise TransitionRefused(f"not on a break: {current.replace('_', ' ')}")
