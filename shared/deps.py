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


async def database(request: Request) -> Database:
    """The service's database as this request may use it, for use cases and streams that open their own
    transactions: for a customer, every transaction carries `fieldline.customer_id`, so row-level security
    (shared/db_roles.py) returns and accepts only that customer's rows in the tables that have a policy."""
    db: Database = request.app.state.runtime.db
    principal = await optional_principal(request)
    if principal is not None and principal.role is Role.CUSTOMER:
        return db.for_customer(principal.customer_id)
    return db


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's transaction (a customer's scoped to it, as `database`'s)."""
    async with (await database(request)).transaction() as session:
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
