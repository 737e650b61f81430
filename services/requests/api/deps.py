"""The requests API's dependencies, typed: `Annotated[X, Depends(...)]` aliases the routers declare.

`UnitOfWork` is the transaction of one request: opened before the endpoint runs, committed when it returns
(before the response is sent, so a client reads its own writes), rolled back when it raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.requests.adapters.entitlement import ContractsEntitlement
from services.requests.api.survey_page import SurveyPages
from services.requests.settings import Settings
from services.requests.usecases.survey_links import SurveyLinks
from shared.auth import Principal, current_principal
from shared.clock import Clock
from shared.db import Database
from shared.listen import NotificationHub


def _database(request: Request) -> Database:
    db: Database = request.app.state.runtime.db
    return db


async def _unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    async with _database(request).transaction() as session:
        yield session


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _now(clock: Annotated[Clock, Depends(_clock)]) -> datetime:
    return clock.now()


def _entitlement(request: Request, settings: Annotated[Settings, Depends(_settings)]) -> ContractsEntitlement:
    return ContractsEntitlement(
        request.app.state.runtime.nc,
        timeout_s=settings.entitlement_timeout_s,
        retry_after_s=settings.entitlement_retry_after_s,
    )


def _survey_links(request: Request) -> SurveyLinks:
    links: SurveyLinks = request.app.state.survey_links
    return links


def _survey_pages(request: Request) -> SurveyPages:
    pages: SurveyPages = request.app.state.survey_pages
    return pages


def _timeline_hub(request: Request) -> NotificationHub:
    hub: NotificationHub = request.app.state.runtime.extras["timeline_hub"]
    return hub


UnitOfWork = Annotated[AsyncSession, Depends(_unit_of_work, scope="function")]
# units of work opened by the use case itself, where it must not hold a connection (filing's call to contracts)
Transactions = Annotated[Database, Depends(_database)]
ServiceSettings = Annotated[Settings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]  # the service clock's "now" for this request
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Entitlement = Annotated[ContractsEntitlement, Depends(_entitlement)]
Links = Annotated[SurveyLinks, Depends(_survey_links)]
Pages = Annotated[SurveyPages, Depends(_survey_pages)]
TimelineHub = Annotated[NotificationHub, Depends(_timeline_hub)]
