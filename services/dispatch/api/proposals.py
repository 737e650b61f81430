"""Plan proposals: a re-plan the dispatcher reads (what moves, why, the figures, the change budget) before
accepting it; accepting applies exactly that plan, or says the day moved on."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Response, status

from services.dispatch.api.deps import Dispatcher, Transactions, UseCases
from services.dispatch.api.desk_schemas import ReplanOut
from services.dispatch.api.schemas import ProposalIn, ProposalOut

router = APIRouter(tags=["dispatcher"])


@router.post("/plans/{day}/proposals", status_code=status.HTTP_201_CREATED, response_model=ProposalOut)
async def propose(
    day: date, db: Transactions, cases: UseCases, principal: Dispatcher, body: ProposalIn | None = None
) -> dict[str, Any]:
    """Plans the day without applying it; the answer says what would change. Open for ten minutes."""
    body = body or ProposalIn()
    return await cases.proposals.propose(
        db, day, body.reason, principal.subject, body.change_budget, release_promises=body.release_promises
    )


@router.get("/plans/{day}/proposals/{proposal_id}", response_model=ProposalOut)
async def proposal(day: date, proposal_id: uuid.UUID, db: Transactions, cases: UseCases, _: Dispatcher) -> Any:
    return await cases.proposals.get(db, day, proposal_id)


@router.post("/plans/{day}/proposals/{proposal_id}/accept", response_model=ReplanOut)
async def accept(
    day: date, proposal_id: uuid.UUID, db: Transactions, cases: UseCases, principal: Dispatcher
) -> dict[str, Any]:
    """Applies the proposal as the day's next plan version; 409 when it is closed or the day's bookings changed
    after it was made (ask for a new one)."""
    return await cases.proposals.accept(db, day, proposal_id, principal.subject)


@router.delete("/plans/{day}/proposals/{proposal_id}", status_code=status.HTTP_204_NO_CONTENT)
async def discard(day: date, proposal_id: uuid.UUID, db: Transactions, cases: UseCases, _: Dispatcher) -> Response:
    await cases.proposals.discard(db, day, proposal_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
