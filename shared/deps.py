"""The typed FastAPI dependencies every service's routers share: `Annotated[X, Depends(...)]` aliases.

`UnitOfWork` is the transaction of one request: opened before the endpoint runs, committed when it returns
(the dependency's function scope: before the response is sent, so a client reads its own writes), rolled
back when it raises. A service's `api/deps.py` adds its own parts (settings, adapters) next to these.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role, current_principal
from shared.auth.dependencies import optional_principal
from shared.clock import Clock
from shared.db import Database
from shared.db_roles import scope_to_customer


def database(request: Request) -> Database:
    """The service's database, for use cases that open their own transactions."""
    db: Database = request.app.state.runtime.db
    return db


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction; for a customer it carries `fieldline.customer_id`, so row-level security
    (shared/db_roles.py) returns and accepts only that customer's rows in the tables that have a policy."""
    principal = await optional_principal(request)
    async with database(request).transaction() as session:
        if principal is not None and principal.role is Role.CUSTOMER:
            await scope_to_customer(session, principal.customer_id)
        yield session


def app_clock(request: Request) -> Clock:
    """The app's clock (`create_app`'s, the settings' by default): every "now" of a request."""
    clock: Clock = request.app.state.clock
    return clock


def now(clock: Annotated[Clock, Depends(app_clock)]) -> datetime:
    return clock.now()


UnitOfWork = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
# units of work opened by the use case itself, where it must not hold a connection across a remote call
Transactions = Annotated[Database, Depends(database)]
AppClock = Annotated[Clock, Depends(app_clock)]
Now = Annotated[datetime, Depends(now)]  # the service clock's "now" for this request
Caller = Annotated[Principal, Depends(current_principal)]
