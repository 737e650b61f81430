"""The request lifecycle as the customer sees it, mirrored from dispatch's assignment events.

Events can arrive twice or out of order. So each assignment is kept as the set of moments it was
seen reaching each status (first sighting wins), its status is the furthest of them, and the
request's status is derived from its own facts (cancelled, follow-up opened, unplaceable) and its
current assignment: the latest one booked that was not cancelled. Replaying the same events in any
order gives the same result.

    new → triaged → assigned → en_route → on_site → completed
                                                  ↘ failed → follow_up
    (any open status) → cancelled
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

TERMINAL = frozenset({"completed", "failed", "follow_up", "cancelled"})

# dispatch's assignment statuses in the order an assignment moves through them; the last three are final
ASSIGNMENT_STEPS = ("offered", "accepted", "en_route", "on_site")
ASSIGNMENT_ENDS = ("completed", "failed", "cancelled")

# what the customer is shown for the current assignment's status
REQUEST_STATUS_OF_ASSIGNMENT: dict[str, str] = {
    "offered": "assigned",
    "accepted": "assigned",
    "en_route": "en_route",
    "on_site": "on_site",
    "completed": "completed",
    "failed": "failed",
}

# outcomes of a failed visit that mean "come back with parts" (dispatch's outcome is free text)
NEEDS_PARTS_OUTCOMES = frozenset({"needs_parts", "needs parts", "needs-parts", "parts_required", "awaiting_parts"})


@dataclass(frozen=True)
class AssignmentView:
    """What the requests service knows of one dispatch assignment; `reached` maps status → first moment seen."""

    assignment_id: uuid.UUID
    technician_id: uuid.UUID
    booked_at: datetime
    technician_first_name: str | None = None
    promised_eta: datetime | None = None
    eta: datetime | None = None
    eta_as_of: datetime | None = None
    reached: tuple[tuple[str, datetime], ...] = ()
    outcome: str | None = None
    technician_as_of: datetime | None = None

    def reached_at(self, status: str) -> datetime | None:
        return dict(self.reached).get(status)

    @property
    def status(self) -> str:
        """The furthest status seen; a final status beats every step, `offered` is the floor."""
        seen = dict(self.reached)
        ends = [(at, s) for s, at in seen.items() if s in ASSIGNMENT_ENDS]
        if ends:
            return min(ends)[1]  # two different endings: the first one reported stands
        steps = [s for s in ASSIGNMENT_STEPS if s in seen]
        return steps[-1] if steps else "offered"


def assignment_booked(
    current: AssignmentView | None,
    *,
    assignment_id: uuid.UUID,
    technician_id: uuid.UUID,
    technician_first_name: str,
    status: str,
    booked_at: datetime,
    eta: datetime,
) -> AssignmentView:
    """Apply dispatch's AssignmentCreated (possibly after some of its status changes were already seen)."""
    base = current or AssignmentView(assignment_id=assignment_id, technician_id=technician_id, booked_at=booked_at)
    view = replace(base, promised_eta=eta, booked_at=min(base.booked_at, booked_at))
    view = _with_technician(view, technician_id, technician_first_name, booked_at)
    view = _with_eta(view, eta, booked_at)
    return _with_reached(view, status, booked_at)


def assignment_rebooked(
    current: AssignmentView | None,
    *,
    assignment_id: uuid.UUID,
    technician_id: uuid.UUID,
    technician_first_name: str,
    status: str,
    eta: datetime,
    at: datetime,
) -> AssignmentView:
    """Apply dispatch's AssignmentChanged: another technician, time or ETA. The promise made at booking stays."""
    view = current or AssignmentView(assignment_id=assignment_id, technician_id=technician_id, booked_at=at)
    view = _with_technician(view, technician_id, technician_first_name, at)
    view = _with_eta(view, eta, at)
    return _with_reached(view, status, at)


def assignment_moved(
    current: AssignmentView | None,
    *,
    assignment_id: uuid.UUID,
    technician_id: uuid.UUID,
    status: str,
    at: datetime,
    eta: datetime | None,
    outcome: str | None,
) -> AssignmentView:
    """Apply dispatch's AssignmentStatusChanged."""
    view = current or AssignmentView(assignment_id=assignment_id, technician_id=technician_id, booked_at=at)
    if eta is not None:
        view = _with_eta(view, eta, at)
    view = _with_reached(view, status, at)
    if status == "failed" and outcome and view.reached_at("failed") == at:
        view = replace(view, outcome=outcome)
    elif status == "completed" and outcome and view.outcome is None:
        view = replace(view, outcome=outcome)
    return view


def _with_reached(view: AssignmentView, status: str, at: datetime) -> AssignmentView:
    seen = dict(view.reached)
    if status in seen and seen[status] <= at:
        return view
    seen[status] = at
    return replace(view, reached=tuple(sorted(seen.items(), key=lambda item: (item[1], item[0]))))


def _with_technician(
    view: AssignmentView, technician_id: uuid.UUID, first_name: str, as_of: datetime
) -> AssignmentView:
    """Only a later booking or change names the technician, whatever order they arrive in."""
    if view.technician_as_of is not None and as_of < view.technician_as_of:
        return view
    return replace(view, technician_id=technician_id, technician_first_name=first_name, technician_as_of=as_of)


def _with_eta(view: AssignmentView, eta: datetime, as_of: datetime) -> AssignmentView:
    """Only a newer estimate replaces the shown one, whatever order they arrive in."""
    if view.eta_as_of is not None and as_of < view.eta_as_of:
        return view
    return replace(view, eta=eta, eta_as_of=as_of)


def current_assignment(assignments: list[AssignmentView]) -> AssignmentView | None:
    """The assignment the customer follows: the latest booked that was not cancelled."""
    live = [a for a in assignments if a.status != "cancelled"]
    return max(live, key=lambda a: (a.booked_at, str(a.assignment_id))) if live else None


def request_status(
    *, cancelled: bool, follow_up_opened: bool, unplaceable: bool, assignments: list[AssignmentView]
) -> str:
    if cancelled:
        return "cancelled"
    if follow_up_opened:
        return "follow_up"
    current = current_assignment(assignments)
    if current is not None:
        return REQUEST_STATUS_OF_ASSIGNMENT[current.status]
    if unplaceable or assignments:
        return "triaged"  # dispatch has seen it and it waits for a technician
    return "new"


def needs_parts(outcome: str | None) -> bool:
    return outcome is not None and outcome.strip().lower() in NEEDS_PARTS_OUTCOMES


def customer_may_cancel(status: str) -> bool:
    """A customer cancels until the technician is on the way; after that only a dispatcher can."""
    return status in ("new", "triaged", "assigned")


def cancellable(status: str) -> bool:
    return status not in TERMINAL
