"""What the dispatch routers depend on, typed: the use cases, the unit of work, who asks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from services.dispatch.usecases import DispatchUseCases
from shared.auth import Principal, Role, require_roles

# re-exported: the routers import every dependency from here
from shared.deps import Caller as Caller
from shared.deps import Transactions as Transactions
from shared.deps import UnitOfWork as UnitOfWork
from shared.errors import NotFound


def _use_cases(request: Request) -> DispatchUseCases:
    cases: DispatchUseCases = request.app.state.dispatch
    return cases


def me(principal: Principal) -> uuid.UUID:
    """The calling technician's id (404 when the token names none)."""
    if principal.technician_id is None:
        raise NotFound("technician not found")
    return principal.technician_id


UseCases = Annotated[DispatchUseCases, Depends(_use_cases)]
Dispatcher = Annotated[Principal, Depends(require_roles(Role.DISPATCHER))]
TechnicianCaller = Annotated[Principal, Depends(require_roles(Role.TECHNICIAN))]
