"""Every subscription of the requests service: subject + durable -> event schema -> use case."""

from __future__ import annotations

from services.requests.usecases.tracking import Tracking
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.messaging import Subscription


def subscriptions(tracking: Tracking) -> list[Subscription]:
    """Dispatch's assignment events, mirrored onto the customer's request."""
    return [
        Subscription(
            "requests-assignment-created", "dispatch", AssignmentCreated.subject, tracking.on_assignment_created
        ),
        Subscription(
            "requests-assignment-status",
            "dispatch",
            AssignmentStatusChanged.subject,
            tracking.on_assignment_status_changed,
        ),
        Subscription(
            "requests-assignment-changed", "dispatch", AssignmentChanged.subject, tracking.on_assignment_changed
        ),
        Subscription("requests-unplaceable", "dispatch", RequestUnplaceable.subject, tracking.on_unplaceable),
    ]
