from __future__ import annotations

from fastapi import FastAPI

from services.requests.api.routes import router
from services.requests.db.tables import messaging
from services.requests.settings import Settings
from services.requests.tracking import subscriptions
from shared.service import ServiceSpec, create_service_app


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline requests",
            producer="requests",
            tables=messaging,
            routers=[router],
            subscriptions=lambda runtime: subscriptions(),
        ),
    )
