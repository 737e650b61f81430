"""Dispatch's use cases, one module per feature; `DispatchUseCases` is what the routers and loops call.

Each use case takes its unit of work (an `AsyncSession`) from its caller — the request's transaction, the
consumer's message transaction or a loop's — which commits at that one boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.dispatch.adapters.planner_processes import PlannerProcesses
from services.dispatch.adapters.travel_provider import TravelProvider, travel_provider
from services.dispatch.db.tables import attachment_blobs
from services.dispatch.planning import EARLIEST_ARRIVAL, plan_routes
from services.dispatch.planning.nearest import NearestQualified, plan_nearest
from services.dispatch.settings import Settings
from services.dispatch.usecases.attachments import Attachments
from services.dispatch.usecases.desk import DispatchDesk
from services.dispatch.usecases.emergency import EmergencyPlacer
from services.dispatch.usecases.fieldwork import FieldWork
from services.dispatch.usecases.horizon import HorizonPlanner
from services.dispatch.usecases.proposals import PlanProposals
from services.dispatch.usecases.reactive_placement import ReactiveInsertion
from services.dispatch.usecases.replanning import Replanner
from services.dispatch.usecases.roster import Roster
from services.dispatch.usecases.territories import Territories
from services.dispatch.usecases.utilisation import Utilisation
from services.dispatch.usecases.viewing import DispatchViews
from services.dispatch.usecases.visits import PlannedVisits
from shared.attachments import BlobStore
from shared.attachments.settings import blob_store
from shared.clock import SystemClock


@dataclass
class DispatchUseCases:
    """Everything the routers and loops call; `clock` is the one source of "now"."""

    clock: Callable[[], datetime]
    placer: EmergencyPlacer
    roster: Roster
    visits: PlannedVisits
    replanner: Replanner
    fieldwork: FieldWork
    desk: DispatchDesk
    views: DispatchViews
    attachments: Attachments
    proposals: PlanProposals
    utilisation: Utilisation
    territories: Territories
    horizon: HorizonPlanner
    planner_processes: PlannerProcesses | None = None  # closed with the app
    travel: TravelProvider | None = None  # closed with the app

    @classmethod
    def build(cls, settings: Settings, clock: Callable[[], datetime] = SystemClock()) -> DispatchUseCases:
        # the baseline's switch, made once here: the day planner and the emergency rule of one policy
        provider = travel_provider(settings)
        travel = provider.model  # one travel model for every path
        nearest = settings.policy == "nearest"
        # the baseline sends the nearest technician at its earliest arrival: no trading arrival for driving
        detour = EARLIEST_ARRIVAL if nearest else settings.emergency_detour()
        insertion = ReactiveInsertion(travel, detour)
        placer = EmergencyPlacer(settings, NearestQualified(insertion) if nearest else insertion, clock, travel)
        processes = (
            PlannerProcesses(settings.planner_processes, settings.planner_nice) if settings.planner_processes else None
        )
        replanner = Replanner(
            settings, clock, planner=plan_nearest if nearest else plan_routes, run=processes, travel=travel
        )
        roster = Roster(settings, clock)
        return cls(
            clock,
            placer,
            roster,
            PlannedVisits(settings, clock),
            replanner,
            FieldWork(placer, clock),
            DispatchDesk(placer, clock),
            DispatchViews(settings.timezone, clock),
            Attachments(attachment_store(settings), clock, settings.attachment_max_bytes),
            PlanProposals(replanner),
            Utilisation(settings.timezone, clock),
            Territories(roster),
            HorizonPlanner(replanner),
            processes,
            provider,
        )


def attachment_store(settings: Settings) -> BlobStore:
    """PostgreSQL (the dispatch schema's attachment_blobs) unless the settings name an S3-compatible store."""
    return blob_store(settings, attachment_blobs, "dispatch")
