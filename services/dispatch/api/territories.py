"""HTTP API of territories on dispatch's side: a technician's territories, the dispatcher's crossing policy."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from services.dispatch.api.deps import Dispatcher, UnitOfWork, UseCases
from services.dispatch.api.routes import technician_out
from services.dispatch.api.schemas import TechnicianOut, TerritoriesIn, TerritoryPolicyIn, TerritoryPolicyOut
from services.dispatch.domain.territories import TerritoryPolicy

router = APIRouter(tags=["dispatch"])


def policy_out(policy: TerritoryPolicy) -> TerritoryPolicyOut:
    return TerritoryPolicyOut(
        crossing=policy.crossing,
        crossing_cost_minutes=policy.crossing_cost_minutes,
        updated_at=policy.updated_at,
        updated_by=policy.updated_by,
    )


@router.get("/territory-policy", response_model=TerritoryPolicyOut)
async def get_territory_policy(session: UnitOfWork, cases: UseCases, _: Dispatcher) -> TerritoryPolicyOut:
    return policy_out(await cases.territories.policy(session))


@router.put("/territory-policy", response_model=TerritoryPolicyOut)
async def set_territory_policy(
    body: TerritoryPolicyIn, session: UnitOfWork, cases: UseCases, dispatcher: Dispatcher
) -> TerritoryPolicyOut:
    """Allow work across territories at a cost per job, or forbid it; the horizon's days are re-planned."""
    policy = await cases.territories.set_policy(session, body.crossing, body.crossing_cost_minutes, dispatcher.subject)
    return policy_out(policy)


@router.put("/technicians/{technician_id}/territories", response_model=TechnicianOut)
async def set_technician_territories(
    technician_id: uuid.UUID, body: TerritoriesIn, session: UnitOfWork, cases: UseCases, _: Dispatcher
) -> TechnicianOut:
    await cases.territories.set_technician_territories(session, technician_id, body.territory_ids)
    return technician_out(await cases.views.technician(session, technician_id))
