"""A contract's planned visit as the customer's request of kind "planned": the same tracking, survey and KPIs as
a request the customer filed, under the visit's id (the id dispatch books it under).

It is filed when the contract's schedule plans it (the KPIs bucket it by that day, as any request by its filing;
its response time is not counted: it keeps a schedule, it answers no call); contracts already covers it (no
entitlement asked, nothing billed), and its window and skills are the schedule's.
"""

from __future__ import annotations

from datetime import datetime

from services.requests.domain.records import ServiceRequestRecord
from shared.events.contracts import VisitPlanned
from shared.events.requests import PreferredWindow

PLANNED = "planned"


def planned_request(visit: VisitPlanned, planned_at: datetime, now: datetime) -> ServiceRequestRecord:
    """The request a newly planned visit becomes (`planned_at`: when contracts planned it; `now`: when this service
    learnt of it)."""
    units = visit.equipment_ids
    contact = {"name": visit.site_contact_name or "", "phone": visit.site_contact_phone or ""}
    return ServiceRequestRecord(
        id=visit.visit_id,
        customer_id=visit.customer_id,
        site_id=visit.site_id,
        equipment_id=units[0] if len(units) == 1 else None,  # a visit to several units is the site's
        kind=PLANNED,
        priority=visit.priority,
        description=visit.carried_work or "",
        contact={k: v for k, v in contact.items() if v},
        status="new",
        covered=True,
        billable=False,
        quota_exceeded=False,
        coverage_reason="planned maintenance under the contract",
        contract_id=visit.contract_id,
        response_due=None,
        fix_due=None,
        preferred_windows=[window_of(visit)],
        site_lat=visit.location.lat,
        site_lon=visit.location.lon,
        site_address=visit.address,
        site_territory_id=visit.territory_id,
        required_skills=[s.model_dump() for s in visit.skills],
        idempotency_key=f"visit:{visit.visit_id}",
        request_fingerprint=f"visit:{visit.visit_id}",
        created_at=planned_at,
        updated_at=now,
    )


def window_of(visit: VisitPlanned) -> dict[str, str]:
    """The visit's window as a request's preferred window (PreferredWindow's JSON)."""
    return PreferredWindow(start=visit.window_start, end=visit.window_end).model_dump(mode="json")
