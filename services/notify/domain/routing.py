"""Who is told what about each event: two small tables, one row per (event, audience).

`MESSAGE_ROUTES` picks the message template (e-mail, webhook) per audience: the first row whose
condition holds wins, so each recipient gets at most one message per event. `STREAM_ROUTES` says what
each audience's live stream shows. Facts are the event's data in JSON form, plus what notify remembers
about the request (`request_kind`, `request_priority`, `previous_eta`).

Rows whose subject no producer publishes yet (marked "awaiting") go live as soon as the producer adds the
event with that subject and those fields: notify subscribes to every routed subject that has a schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify.domain.audience import Audience, stream_of
from shared.events.dispatch import (
    AssignmentChanged,
    AssignmentCreated,
    AssignmentStatusChanged,
    PlanPublished,
    RequestUnplaceable,
    SlaAtRisk,
    TechnicianMoved,
)
from shared.events.envelope import subject_for
from shared.events.requests import ServiceRequestCancelled, ServiceRequestCreated, SurveyInvited

Facts = Mapping[str, Any]

# notify's own dead letters are routed like an event (they are read from the table, not from NATS);
# the other services announce theirs as fieldline.<service>.dead_letter.recorded.v1
DEAD_LETTER = subject_for("notify", "dead_letter", "recorded")
OTHERS_DEAD_LETTERS = tuple(subject_for(p, "dead_letter", "recorded") for p in ("contracts", "requests", "dispatch"))

SURVEY_INVITED = SurveyInvited.subject
SLA_AT_RISK = SlaAtRisk.subject
TECHNICIAN_MOVED = TechnicianMoved.subject
ASSIGNMENT_CHANGED = AssignmentChanged.subject
PLAN_PUBLISHED = PlanPublished.subject
# awaiting their producer (see the notify issue's report for the fields each template uses)
CONTRACT_ENDING_SOON = subject_for("contracts", "contract", "ending_soon")
VISITS_OVERDUE = subject_for("contracts", "contract", "visits_overdue")


@dataclass(frozen=True)
class RoutingPolicy:
    eta_change_threshold_minutes: int = 15


Condition = Callable[[Facts, RoutingPolicy], bool]


def _always(facts: Facts, policy: RoutingPolicy) -> bool:
    return True


def _never(facts: Facts, policy: RoutingPolicy) -> bool:
    return False


def _status(*statuses: str) -> Condition:
    def condition(facts: Facts, policy: RoutingPolicy) -> bool:
        return facts.get("status") in statuses

    return condition


def _visit_called_off(facts: Facts, policy: RoutingPolicy) -> bool:
    """The assignment was cancelled but the request lives on (a cancelled request has its own notice)."""
    return facts.get("status") == "cancelled" and not facts.get("request_cancelled")


def eta_shift_minutes(previous: str | None, new: str | None) -> float | None:
    """How far a promised ETA moved, in minutes (None unless both are known)."""
    if not previous or not new:
        return None
    return abs((datetime.fromisoformat(new) - datetime.fromisoformat(previous)).total_seconds()) / 60


def _eta_moved(facts: Facts, policy: RoutingPolicy) -> bool:
    """Dispatch's word where it gives it (`customer_told`: a broken promise, or none), else the threshold."""
    if facts.get("customer_told") is not None:
        return bool(facts["customer_told"])
    shift = eta_shift_minutes(facts.get("previous_eta"), facts.get("eta"))
    return shift is not None and shift > policy.eta_change_threshold_minutes


def _technician_changed(facts: Facts, policy: RoutingPolicy) -> bool:
    previous = facts.get("previous_technician_id")
    return previous is not None and previous != facts.get("technician_id")


def _emergency_request(facts: Facts, policy: RoutingPolicy) -> bool:
    """Emergencies (and P1) reach customers even in their quiet hours."""
    kind = facts.get("request_kind") or facts.get("kind")
    priority = facts.get("request_priority") or facts.get("priority")
    return kind == "emergency" or priority == "P1"


@dataclass(frozen=True)
class MessageRoute:
    subject: str
    audience: Audience
    template: str
    when: Condition = _always
    urgent: Condition = _never
    whose: str = "technician_id"  # the fact naming the technician a technician route is for


@dataclass(frozen=True)
class StreamRoute:
    subject: str
    audience: Audience
    kind: str
    fields: tuple[str, ...] | None = None  # what this audience may see; None: the whole event
    whose: str = "technician_id"  # the fact naming the technician a technician route is for


_CUSTOMER, _TECHNICIAN = Audience.CUSTOMER, Audience.TECHNICIAN
_DISPATCHER, _MANAGER = Audience.DISPATCHER, Audience.CONTRACT_MANAGER
_urgent_for_customer = _emergency_request

MESSAGE_ROUTES: tuple[MessageRoute, ...] = (
    MessageRoute(ServiceRequestCreated.subject, _CUSTOMER, "request_received", urgent=_urgent_for_customer),
    MessageRoute(ServiceRequestCancelled.subject, _CUSTOMER, "request_cancelled", urgent=_urgent_for_customer),
    MessageRoute(AssignmentCreated.subject, _CUSTOMER, "technician_assigned", urgent=_urgent_for_customer),
    MessageRoute(AssignmentCreated.subject, _TECHNICIAN, "new_assignment", urgent=_emergency_request),
    MessageRoute(
        AssignmentStatusChanged.subject,
        _CUSTOMER,
        "technician_on_the_way",
        when=_status("en_route"),
        urgent=_urgent_for_customer,
    ),
    MessageRoute(AssignmentStatusChanged.subject, _CUSTOMER, "job_completed", when=_status("completed")),
    MessageRoute(
        AssignmentStatusChanged.subject,
        _CUSTOMER,
        "visit_cancelled",
        when=_visit_called_off,
        urgent=_urgent_for_customer,
    ),
    MessageRoute(
        AssignmentStatusChanged.subject, _CUSTOMER, "eta_changed", when=_eta_moved, urgent=_urgent_for_customer
    ),
    MessageRoute(
        AssignmentStatusChanged.subject,
        _TECHNICIAN,
        "assignment_cancelled",
        when=_status("cancelled"),
        urgent=_emergency_request,
    ),
    MessageRoute(
        ASSIGNMENT_CHANGED, _CUSTOMER, "technician_assigned", when=_technician_changed, urgent=_urgent_for_customer
    ),
    MessageRoute(ASSIGNMENT_CHANGED, _CUSTOMER, "eta_changed", when=_eta_moved, urgent=_urgent_for_customer),
    MessageRoute(ASSIGNMENT_CHANGED, _TECHNICIAN, "assignment_changed", urgent=_emergency_request),
    MessageRoute(
        ASSIGNMENT_CHANGED,
        _TECHNICIAN,
        "assignment_cancelled",
        when=_technician_changed,
        urgent=_emergency_request,
        whose="previous_technician_id",
    ),
    MessageRoute(PLAN_PUBLISHED, _TECHNICIAN, "route_changed"),
    MessageRoute(SURVEY_INVITED, _CUSTOMER, "survey_invitation"),
    MessageRoute(RequestUnplaceable.subject, _DISPATCHER, "request_unplaceable", urgent=_always),
    MessageRoute(SLA_AT_RISK, _DISPATCHER, "sla_at_risk", urgent=_always),
    MessageRoute(DEAD_LETTER, _DISPATCHER, "dead_letter"),
    *(MessageRoute(subject, _DISPATCHER, "dead_letter") for subject in OTHERS_DEAD_LETTERS),
    # awaiting their producer
    MessageRoute(CONTRACT_ENDING_SOON, _MANAGER, "contract_ending_soon"),
    MessageRoute(VISITS_OVERDUE, _MANAGER, "visits_overdue"),
)

_CUSTOMER_REQUEST_VIEW = ("request_id", "kind", "priority", "covered", "response_due", "fix_due", "created_at")

STREAM_ROUTES: tuple[StreamRoute, ...] = (
    StreamRoute(ServiceRequestCreated.subject, _CUSTOMER, "request.received", _CUSTOMER_REQUEST_VIEW),
    StreamRoute(ServiceRequestCreated.subject, _DISPATCHER, "request.created"),
    StreamRoute(ServiceRequestCancelled.subject, _CUSTOMER, "request.cancelled", ("request_id", "cancelled_by")),
    StreamRoute(ServiceRequestCancelled.subject, _DISPATCHER, "request.cancelled"),
    StreamRoute(AssignmentCreated.subject, _TECHNICIAN, "assignment.created"),
    StreamRoute(
        AssignmentCreated.subject,
        _CUSTOMER,
        "request.assigned",
        ("request_id", "technician_first_name", "eta", "status"),
    ),
    StreamRoute(AssignmentCreated.subject, _DISPATCHER, "assignment.created"),
    StreamRoute(AssignmentStatusChanged.subject, _TECHNICIAN, "assignment.status_changed"),
    StreamRoute(
        AssignmentStatusChanged.subject, _CUSTOMER, "request.status_changed", ("request_id", "status", "at", "eta")
    ),
    StreamRoute(AssignmentStatusChanged.subject, _DISPATCHER, "assignment.status_changed"),
    StreamRoute(ASSIGNMENT_CHANGED, _TECHNICIAN, "assignment.changed"),
    # the technician it was taken from hears too (their app drops the stop at once, not at the next re-plan)
    StreamRoute(ASSIGNMENT_CHANGED, _TECHNICIAN, "assignment.changed", whose="previous_technician_id"),
    StreamRoute(
        ASSIGNMENT_CHANGED, _CUSTOMER, "request.assigned", ("request_id", "technician_first_name", "eta", "status")
    ),
    StreamRoute(ASSIGNMENT_CHANGED, _DISPATCHER, "assignment.changed"),
    StreamRoute(PLAN_PUBLISHED, _TECHNICIAN, "plan.published"),
    StreamRoute(SURVEY_INVITED, _CUSTOMER, "survey.invited", ("request_id", "survey_id", "link", "expires_at")),
    StreamRoute(RequestUnplaceable.subject, _DISPATCHER, "request.unplaceable"),
    StreamRoute(SLA_AT_RISK, _DISPATCHER, "request.sla_at_risk"),
    StreamRoute(TECHNICIAN_MOVED, _DISPATCHER, "technician.moved"),  # the map's live positions
    StreamRoute(DEAD_LETTER, _DISPATCHER, "dead_letter"),
    *(StreamRoute(subject, _DISPATCHER, "dead_letter") for subject in OTHERS_DEAD_LETTERS),
    # awaiting their producer
    StreamRoute(CONTRACT_ENDING_SOON, _MANAGER, "contract.ending_soon"),
    StreamRoute(VISITS_OVERDUE, _MANAGER, "contract.visits_overdue"),
)


@dataclass(frozen=True)
class Notice:
    """One message to everyone of an audience about one event."""

    audience: Audience
    template: str
    urgent: bool
    whose: str = "technician_id"


@dataclass(frozen=True)
class StreamPush:
    stream: str
    kind: str
    payload: dict[str, Any]


def routed_subjects() -> frozenset[str]:
    return frozenset(r.subject for r in MESSAGE_ROUTES) | frozenset(r.subject for r in STREAM_ROUTES)


def notices_for(subject: str, facts: Facts, policy: RoutingPolicy) -> list[Notice]:
    """At most one notice per audience (and, for technicians, per technician named): the first route that holds."""
    chosen: dict[tuple[Audience, str], Notice] = {}
    for route in MESSAGE_ROUTES:
        key = (route.audience, route.whose)
        if route.subject != subject or key in chosen or not route.when(facts, policy):
            continue
        chosen[key] = Notice(route.audience, route.template, route.urgent(facts, policy), route.whose)
    return list(chosen.values())


def stream_pushes_for(subject: str, facts: Facts) -> list[StreamPush]:
    pushes = []
    streams: set[str] = set()
    for route in STREAM_ROUTES:
        if route.subject != subject:
            continue
        stream = stream_of(route.audience, _str_or_none(facts.get("customer_id")), _str_or_none(facts.get(route.whose)))
        if stream is None or stream in streams:
            continue  # one frame per stream and event (a booking that stays with its technician names them twice)
        streams.add(stream)
        payload = dict(facts) if route.fields is None else {k: facts.get(k) for k in route.fields}
        pushes.append(StreamPush(stream, route.kind, payload))
    return pushes


def _str_or_none(value: object) -> str | None:
    return str(value) if value else None
