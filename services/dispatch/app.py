from __future__ import annotations

from fastapi import FastAPI

from services.dispatch.api.routes import router
from services.dispatch.db.tables import messaging
from services.dispatch.domain.placement import NearestFreeTechnician
from services.dispatch.emergency import EmergencyPlacer
from services.dispatch.settings import Settings
from shared.service import ServiceSpec, create_service_app


def create_app(settings: Settings) -> FastAPI:
    placer = EmergencyPlacer(settings, NearestFreeTechnician(settings.road_factor, settings.average_speed_kmh))
    return create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline dispatch",
            producer="dispatch",
            tables=messaging,
            routers=[router],
            subscriptions=lambda runtime: placer.subscriptions(),
        ),
    )
