from __future__ import annotations

from fastapi import FastAPI

from services.notify.api.routes import router
from services.notify.db.tables import messaging
from services.notify.settings import Settings
from services.notify.streams import stream_hub, subscriptions
from shared.service import ServiceSpec, create_service_app


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline notify",
            producer="notify",
            tables=messaging,
            routers=[router],
            subscriptions=lambda runtime: subscriptions(),
            on_start=[stream_hub],
        ),
    )
