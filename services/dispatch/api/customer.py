"""The customer portal's view of a visit: status, the technician's first name, ETA, the live position only
while the technician is en route to this site, and the completion report once it is over (allow-listed in
services/dispatch/domain/customer_view.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.dispatch.api.deps import Caller, UnitOfWork, UseCases
from services.dispatch.api.schemas import CustomerVisitOut

router = APIRouter(prefix="/customer", tags=["customer portal"])


@router.get(
    "/requests/{request_id}/visit",
    response_model=CustomerVisitOut,
    summary="The visit to my request: technician's first name, ETA, position while en route, report when done",
    description="`status` is null until a technician is booked. `position` is set only while the visit is "
    "`en_route` (and the technician's device has reported one); `report` only once it is completed or failed.",
)
async def my_visit(request_id: uuid.UUID, session: UnitOfWork, cases: UseCases, principal: Caller) -> CustomerVisitOut:
    visit = await cases.views.visit_for_customer(session, principal, request_id)
    return CustomerVisitOut.model_validate(visit, from_attributes=True)
