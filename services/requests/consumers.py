"""Every subscription of the requests service: subject + durable -> event schema -> use case."""

from __future__ import annotations

from services.requests.usecases.planned_visits import PlannedVisits
from services.requests.usecases.tracking import Tracking
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.messaging import Subscription


def subscriptions(tracking: Tracking, planned_visits: PlannedVisits) -> list[Subscription]:
    """Dispatch's assignment events, mirrored onto the customer's request; contracts' planned visits, recorded as
    requests of kind "planned"."""
    return [
        Subscription("requests-visit-planned", "contracts", VisitPlanned.subject, planned_visits.on_visit_planned),
        Subscription(
            "requests-visit-rescheduled", "contracts", VisitRescheduled.subject, planned_visits.on_visit_rescheduled
        ),
        Subscription(
            "requests-visit-cancelled", "contracts", VisitCancelled.subject, planned_visits.on_visit_cancelled
        ),
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
