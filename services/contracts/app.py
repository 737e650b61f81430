from __future__ import annotations

from fastapi import FastAPI

from services.contracts.api.routes import router
from services.contracts.db.tables import messaging
from services.contracts.entitlement import entitlement_responder
from services.contracts.settings import Settings
from shared.service import ServiceSpec, create_service_app


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline contracts",
            producer="contracts",
            tables=messaging,
            routers=[router],
            on_start=[entitlement_responder],
        ),
    )
