from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fastapi import FastAPI

from services.dispatch import consumers
from services.dispatch.api import attachments, customer, desk, kpis, mobile, proposals, routes, territories
from services.dispatch.db.tables import messaging
from services.dispatch.settings import Settings
from services.dispatch.usecases import DispatchUseCases
from services.dispatch.usecases.replanning import run_queued_replans
from shared.service import Runtime, ServiceSpec, create_service_app

log = logging.getLogger(__name__)


Starter = Callable[[Runtime], contextlib.AbstractAsyncContextManager[None]]


def settle_heap() -> None:
    """Hides what startup built from the cyclic collector: a full collection then walks only what requests made.

    Without it a gen-2 collection over the imported libraries stalls the loop ~80 ms now and then, the
    whole p99 budget of an emergency placement.
    """
    gc.collect()
    gc.freeze()


@contextlib.asynccontextmanager
async def _settled_heap(runtime: Runtime) -> AsyncIterator[None]:
    settle_heap()
    yield


def _planner_processes(cases: DispatchUseCases) -> Starter:
    @contextlib.asynccontextmanager
    async def start(runtime: Runtime) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if cases.planner_processes is not None:
                cases.planner_processes.close()
            if cases.travel is not None:
                cases.travel.close()

    return start


def _loops(settings: Settings, cases: DispatchUseCases) -> Starter:
    @contextlib.asynccontextmanager
    async def start(runtime: Runtime) -> AsyncIterator[None]:
        db = runtime.db

        async def scheduled_planning() -> None:
            async with db.transaction() as session:
                await cases.roster.refresh(session)
            await cases.horizon.scheduled(db)

        async def sla_watch() -> None:
            async with db.transaction() as session:
                await cases.desk.watch(session)

        async def overrun_watch() -> None:
            async with db.transaction() as session:
                await cases.desk.watch_overruns(session)

        runtime.every(
            settings.replan_poll_s, "dispatch re-plans", lambda: run_queued_replans(db, cases.replanner), now=False
        )
        runtime.every(settings.plan_interval_s, "dispatch scheduled planning", scheduled_planning, now=False)
        runtime.every(settings.sla_check_interval_s, "dispatch SLA watch", sla_watch, now=False)
        runtime.every(settings.overrun_check_interval_s, "dispatch overrun watch", overrun_watch, now=False)
        runtime.every(
            settings.emergency_retry_interval_s,
            "dispatch emergency retry",
            lambda: cases.placer.retry_waiting(db),
            now=False,
        )
        yield

    return start


def create_app(settings: Settings, clock: Callable[[], datetime] | None = None) -> FastAPI:
    cases = DispatchUseCases.build(settings, clock or settings.make_clock())
    app = create_service_app(
        settings,
        ServiceSpec(
            title="Fieldline dispatch",
            producer="dispatch",
            tables=messaging,
            routers=[
                routes.router,
                mobile.router,
                desk.router,
                kpis.router,
                proposals.router,
                attachments.router,
                customer.router,
                territories.router,
            ],
            upload_paths=attachments.UPLOAD_PATHS,
            subscriptions=lambda runtime: consumers.subscriptions(cases.placer, cases.visits),
            on_start=[_planner_processes(cases), _loops(settings, cases), _settled_heap],
        ),
    )
    app.state.dispatch = cases
    return app
