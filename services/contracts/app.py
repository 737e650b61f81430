from __future__ import annotations

from fastapi import FastAPI

from services.contracts.api import calendar, contracts, cover, customers, imports
from services.contracts.consumers import entitlement_server, subscriptions
from services.contracts.db.tables import messaging
from services.contracts.settings import Settings
from services.contracts.usecases.sweep import reservation_release, visit_sweep
from shared.clock import Clock
from shared.service import ServiceSpec, create_service_app


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The contracts app; ``clock`` (the settings' clock by default) is every "now" of the service."""
    return create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline contracts",
            producer="contracts",
            tables=messaging,
            routers=[customers.router, contracts.router, calendar.router, imports.router, cover.router],
            subscriptions=subscriptions,
            on_start=[entitlement_server, visit_sweep, reservation_release],
            upload_paths=[r"/imports/[^/]+"],
        ),
        clock or settings.make_clock(),
    )
