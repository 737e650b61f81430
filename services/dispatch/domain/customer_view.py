"""What a customer sees of the visit to its request: an allow-list of the assignment, the technician and the
report. Never the technician's id, full name or position away from this job, never a decline or re-plan reason,
never the technician's internal notes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dispatch.domain.records import AssignmentRecord, JobRecord, TechnicianRecord

# the visit's steps a customer reads; declined and cancelled bookings are the company's business
CUSTOMER_STEPS = frozenset({"offered", "accepted", "en_route", "on_site", "completed", "failed"})
CUSTOMER_OUTCOMES = frozenset({"completed", "needs_parts", "no_access", "customer_absent"})


@dataclass(frozen=True)
class LivePosition:
    lat: float
    lon: float
    at: datetime | None


@dataclass(frozen=True)
class CompletionReport:
    outcome: str | None
    work_done: str
    parts_used: list[dict[str, Any]]
    signed_by: str | None


@dataclass(frozen=True)
class CustomerVisit:
    request_id: uuid.UUID
    status: str | None  # None: no technician is booked yet
    technician_first_name: str | None
    eta: datetime | None
    arrived_at: datetime | None
    finished_at: datetime | None
    position: LivePosition | None  # only while en route to this site
    site: LivePosition | None
    report: CompletionReport | None  # only once the visit is over
    # the booked technician's photo, relative to the dispatch API (None: nobody booked, or no photo)
    technician_photo_url: str | None = None


def customer_visit(
    request_id: uuid.UUID,
    job: JobRecord,
    assignment: AssignmentRecord | None,
    technician: TechnicianRecord | None,
) -> CustomerVisit:
    """The customer's view of its job's current (or last) visit, from dispatch's rows."""
    site = LivePosition(job.lat, job.lon, None)
    if assignment is None or assignment.status not in CUSTOMER_STEPS:
        return CustomerVisit(request_id, None, None, None, None, None, None, site, None)
    status = assignment.status
    position = None
    if status == "en_route" and technician is not None:
        position = LivePosition(technician.lat, technician.lon, technician.position_at)
    report = None
    if status in ("completed", "failed"):
        stored = assignment.report or {}
        outcome = assignment.outcome or ("completed" if status == "completed" else None)
        report = CompletionReport(
            outcome=outcome if outcome in CUSTOMER_OUTCOMES else None,
            work_done=str(stored.get("work_done") or ""),
            parts_used=[
                {"part": str(p.get("part", "")), "quantity": p.get("quantity", 1)}
                for p in stored.get("parts_used") or []
                if isinstance(p, dict)
            ],
            signed_by=stored.get("signed_by") or None,
        )
    return CustomerVisit(
        request_id=request_id,
        status=status,
        technician_first_name=technician.first_name if technician else None,
        technician_photo_url=(
            f"customer/requests/{request_id}/technician-photo" if technician and technician.photo_key else None
        ),
        eta=assignment.eta if status in ("offered", "accepted", "en_route") else None,
        arrived_at=assignment.arrived_at,
        finished_at=assignment.finished_at,
        position=position,
        site=site,
        report=report,
    )
