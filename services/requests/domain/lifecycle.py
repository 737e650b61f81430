"""The request lifecycle as the customer sees it, mirrored from dispatch events.

Events can arrive twice or out of order, so a status only ever moves forward along its rank; a late
`assigned` after `on_site` changes nothing. Terminal states are final.
"""

from __future__ import annotations

STATUS_RANK: dict[str, int] = {
    "new": 0,
    "triaged": 1,
    "assigned": 2,
    "en_route": 3,
    "on_site": 4,
    "completed": 5,
    "failed": 5,
    "cancelled": 6,
}
TERMINAL = frozenset({"completed", "failed", "cancelled"})

# dispatch's assignment statuses → the request's status
FROM_ASSIGNMENT: dict[str, str] = {
    "offered": "assigned",
    "accepted": "assigned",
    "en_route": "en_route",
    "on_site": "on_site",
    "completed": "completed",
    "failed": "failed",
}


def advance(current: str, incoming: str) -> str:
    """The status after `incoming` is observed in state `current` (never backwards, never out of a terminal)."""
    if current in TERMINAL:
        return current
    if STATUS_RANK[incoming] > STATUS_RANK[current]:
        return incoming
    return current


def customer_may_cancel(status: str) -> bool:
    return STATUS_RANK[status] < STATUS_RANK["en_route"]
