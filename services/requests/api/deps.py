"""The requests API's dependencies, typed: `Annotated[X, Depends(...)]` aliases the routers declare.

`UnitOfWork` is the transaction of one request: opened before the endpoint runs, committed when it returns
(before the response is sent, so a client reads its own writes), rolled back when it raises.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.requests.adapters.entitlement import ContractsEntitlement
from services.requests.api.survey_page import SurveyPages
from services.requests.settings import Settings
from services.requests.usecases.photos import RequestPhotos
from services.requests.usecases.survey_links import SurveyLinks

# re-exported: the routers import every dependency from here
from shared.deps import Caller as Caller
from shared.deps import Now as Now
from shared.deps import Transactions as Transactions
from shared.deps import UnitOfWork as UnitOfWork
from shared.listen import NotificationHub


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


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


def _photos(request: Request) -> RequestPhotos:
    photos: RequestPhotos = request.app.state.photos
    return photos


def _timeline_hub(request: Request) -> NotificationHub:
    hub: NotificationHub = request.app.state.runtime.extras["timeline_hub"]
    return hub


ServiceSettings = Annotated[Settings, Depends(_settings)]
CurrentPrincipal = Caller
Entitlement = Annotated[ContractsEntitlement, Depends(_entitlement)]
Links = Annotated[SurveyLinks, Depends(_survey_links)]
Pages = Annotated[SurveyPages, Depends(_survey_pages)]
TimelineHub = Annotated[NotificationHub, Depends(_timeline_hub)]
Photos = Annotated[RequestPhotos, Depends(_photos)]
