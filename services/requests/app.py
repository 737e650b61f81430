from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.requests.adapters.entitlement import EntitlementUnavailable
from services.requests.adapters.timeline_stream import timeline_hub
from services.requests.api import customer, feedback, photos, quality, routes
from services.requests.api.survey_page import SurveyPages
from services.requests.consumers import subscriptions
from services.requests.db.tables import attachment_blobs, messaging
from services.requests.settings import Settings
from services.requests.usecases.photos import RequestPhotos
from services.requests.usecases.planned_visits import PlannedVisits
from services.requests.usecases.survey_links import survey_links
from services.requests.usecases.tracking import Tracking
from shared.attachments.settings import blob_store
from shared.clock import Clock
from shared.http import problem
from shared.service import ServiceSpec, create_service_app


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    clock = clock or settings.make_clock()
    links = survey_links(settings, clock)
    tracking = Tracking(links, settings.survey_link_ttl_days, clock)
    planned_visits = PlannedVisits(clock)
    app = create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline requests",
            producer="requests",
            tables=messaging,
            routers=[routes.router, photos.router, customer.router, feedback.router, quality.router],
            upload_paths=[photos.UPLOAD_PATH],
            subscriptions=lambda runtime: subscriptions(tracking, planned_visits),
            on_start=[timeline_hub],
            no_store_paths=[r"/surveys/.*"],
            frameable_paths=[r"/rating\.html"],
        ),
        clock,
    )
    app.state.survey_links = links
    app.state.survey_pages = SurveyPages()
    app.state.photos = RequestPhotos(
        blob_store(settings, attachment_blobs, "requests"),
        clock.now,
        settings.attachment_max_bytes,
        settings.photos_per_request,
    )

    @app.exception_handler(EntitlementUnavailable)
    async def _entitlement_unavailable(request: Request, exc: EntitlementUnavailable) -> JSONResponse:
        response = problem(exc.status, exc.slug, exc.title, exc.detail, instance=request.url.path)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    return app
