"""Every subscription of the requests service: subject + durable -> event schema -> use case."""

from __future__ import annotations

from services.requests.usecases.planned_visits import PlannedVisits
from services.requests.usecases.tracking import Tracking
from shared.events.dispatch import AssignmentChanged, AssignmentCreated, AssignmentStatusChanged, RequestUnplaceable
from shared.events.envelope import subject_for
from shared.messaging import Subscription

VISIT_EVENTS = subject_for("contracts", "visit", "*")  # VisitPlanned, VisitRescheduled, VisitCancelled


def subscriptions(tracking: Tracking, planned_visits: PlannedVisits) -> list[Subscription]:
    """Dispatch's assignment events, mirrored onto the customer's request; contracts' planned visits, recorded as
    requests of kind "planned"."""
    return [
        # one consumer for a visit's planned, rescheduled and cancelled events: they apply in the order contracts
        # published them (a cancellation read before its visit was planned would be lost)
        Subscription("requests-visit-events", "contracts", VISIT_EVENTS, planned_visits.on_visit_event),
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
