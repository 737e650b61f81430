"""The assignment lifecycle: offered → accepted → en_route → on_site → completed / failed, or cancelled."""

from __future__ import annotations

ACTIVE = frozenset({"offered", "accepted", "en_route", "on_site"})
TERMINAL = frozenset({"completed", "failed", "cancelled", "declined"})

ALLOWED: dict[str, frozenset[str]] = {
    "offered": frozenset({"accepted", "declined", "cancelled"}),
    "accepted": frozenset({"en_route", "cancelled"}),
    "en_route": frozenset({"on_site", "cancelled"}),
    "on_site": frozenset({"completed", "failed"}),
}


class TransitionRefused(ValueError):
    pass


def check_transition(current: str, target: str) -> None:
    """Raises TransitionRefused with the reason when `target` cannot follow `current`."""
    if current == target:
        return
    allowed = ALLOWED.get(current, frozenset())
    if target not in allowed:
        expected = ", ".join(sorted(allowed)) or "nothing (it is final)"
        raise TransitionRefused(f"cannot go from {current} to {target}; next may be: {expected}")
