"""Every subscription of the dispatch service: subject + durable -> event schema -> use case."""

from __future__ import annotations

from services.dispatch.usecases.emergency import EmergencyPlacer
from services.dispatch.usecases.visits import PlannedVisits
from shared.events.contracts import VisitCancelled, VisitPlanned, VisitRescheduled
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated
from shared.messaging import Subscription


def subscriptions(placer: EmergencyPlacer, visits: PlannedVisits) -> list[Subscription]:
    """Requests' new and cancelled requests (emergencies placed at once) and contracts' planned visits."""
    return [
        Subscription("dispatch-request-created", "requests", ServiceRequestCreated.subject, placer.on_request_created),
        Subscription(
            "dispatch-request-cancelled", "requests", ServiceRequestCancelled.subject, placer.on_request_cancelled
        ),
        Subscription("dispatch-visit-planned", "contracts", VisitPlanned.subject, visits.on_visit_planned),
        Subscription("dispatch-visit-rescheduled", "contracts", VisitRescheduled.subject, visits.on_visit_planned),
        Subscription("dispatch-visit-cancelled", "contracts", VisitCancelled.subject, visits.on_visit_cancelled),
    ]
