from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.dispatch.domain.costs import MoneyRates
from services.dispatch.planning.reactive import DetourAllowance
from shared.attachments.settings import AttachmentStoreSettings
from shared.events.common import Priority
from shared.settings import ServiceSettings

Money = Annotated[float, Field(ge=0)]


def office_hours() -> dict[str, dict[str, Any]]:
    """Monday to Friday 08:00-17:00 with a 30-minute lunch between 12:00 and 14:00."""
    lunch = {"break_minutes": 30, "break_earliest": "12:00", "break_latest": "14:00"}
    return {day: {"start": "08:00", "end": "17:00", **lunch} for day in ("mon", "tue", "wed", "thu", "fri")}


class Settings(ServiceSettings, AttachmentStoreSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_DISPATCH_", extra="ignore", env_parse_none_str="null")
    service_name: ClassVar[str] = "dispatch"

    port: int = 8001
    db_schema: str = "dispatch"
    # who plans the day and places emergencies: the optimiser, or the nearest-qualified-technician baseline
    # (planning/nearest.py) that `make day` compares it with
    policy: Literal["fieldline", "nearest"] = "fieldline"

    # reactive placement
    candidate_pool: int = 20
    reach_km: float = 200.0
    road_factor: float = 1.35
    # travel times of the planner and the reactive path alike (adapters/travel_provider.py): the great-circle
    # formula above, or a routing engine (an OSRM table service, a Valhalla service) behind a matrix cache of
    # travel_cache_points points per process (a float32 matrix over them: 4,000 points, 64 MB)
    travel_provider: Literal["great_circle", "osrm", "valhalla"] = "great_circle"
    osrm_url: str | None = None  # e.g. http://127.0.0.1:5000
    osrm_profile: str = "driving"
    valhalla_url: str | None = None  # valhalla_service over tiles of the region, e.g. http://127.0.0.1:8002
    valhalla_costing: str = "auto"
    travel_timeout_s: float = Field(default=10.0, gt=0)
    travel_cache_points: int = Field(default=4_000, ge=2)
    booking_attempts: int = 32  # each collision means another placement won: enough for a burst at one spot
    # an emergency goes to the earliest arrival that meets its SLA, or to one somewhat later that adds less driving to
    # its technician's day (one already passing nearby rather than one sent across town): later by at most the slack
    # (minutes), or by the share of the SLA time the earliest arrival leaves, up to the cap (planning/reactive.py
    # DetourAllowance); 0 and 0: the earliest arrival
    emergency_detour_slack_minutes: float = Field(default=20.0, ge=0)
    # the share is a company's choice, off by default: at 0.25 (cap 60) on seeds 1-3 of `make day` it saved driving on
    # one seed and made the median emergency response the baseline's or longer on the two others (docs/day.md)
    emergency_detour_sla_share: float = Field(default=0.0, ge=0, le=1)
    emergency_detour_max_minutes: float = Field(default=60.0, ge=0)
    book_late_emergencies: bool = True  # book the earliest arrival even past the SLA, and alert the dispatcher
    # technicians whose shift starts within this are candidates too (they set off when it starts): an emergency
    # filed before the morning shifts, or overnight, is booked for the first who can go, not left waiting
    candidate_horizon_hours: float = 16.0
    # emergencies nobody could take (or that a re-plan had to drop) are tried again this often; 0 turns it off
    emergency_retry_interval_s: float = 60.0
    bundle_lookahead_hours: float = 72.0
    break_minutes: int = 30  # a break started without saying how long lasts this long

    # the company's working hours: a technician without shifts of their own works these (the weekly pattern's
    # form: weekday -> start, end, break_minutes, break_earliest, break_latest); null: round the clock
    default_weekly_shifts: dict[str, dict[str, Any]] | None = Field(default_factory=office_hours)

    # attachments of visit reports (photos, signatures): attachment_store, attachment_max_bytes and the s3_*
    # settings come from AttachmentStoreSettings (shared/attachments/settings.py)

    # planning
    plan_horizon_days: int = 3
    plan_interval_s: float = 3600.0  # scheduled planning of the horizon; 0 turns it off
    replan_poll_s: float = 2.0  # how often queued re-plans are picked up; 0 turns it off
    planner_time_limit_s: float = 5.0
    # the planner runs in worker processes of its own, niced by planner_nice so that the services (and a browser on
    # the same machine) are served first; one plan is made at a time (db/plans.PLANNER_LOCK), so one is enough;
    # 0 runs it on a thread of the dispatch process
    planner_processes: int = Field(default=1, ge=0)
    planner_nice: int = Field(default=10, ge=0, le=19)
    change_budget: int = 3  # at most this many visits leave a technician's route per re-plan
    # what an hour of driving costs (wage and vehicle), in the contracts' currency: the exchange rate between the
    # planner's travel-seconds and money (domain/costs.py). At 30/h the planner's defaults are: 60/h late (any
    # priority), 30/h overtime, a dropped P1 1,440, P2 360, P3 180, P4 60 (contracts' terms replace them per job)
    travel_cost_per_hour: float = Field(default=30.0, gt=0)
    # the company's own money terms per priority ("P1".."P4") for work whose contract names none; a priority left
    # out keeps the planner's default above
    default_late_penalty_per_hour: dict[Priority, Money] = Field(default_factory=dict)
    default_visit_value: dict[Priority, Money] = Field(default_factory=dict)

    def money_rates(self) -> MoneyRates:
        return MoneyRates(
            self.travel_cost_per_hour,
            {str(p): v for p, v in self.default_late_penalty_per_hour.items()},
            {str(p): v for p, v in self.default_visit_value.items()},
        )

    def emergency_detour(self) -> DetourAllowance:
        return DetourAllowance(
            60.0 * self.emergency_detour_slack_minutes,
            self.emergency_detour_sla_share,
            60.0 * self.emergency_detour_max_minutes,
        )

    retime_threshold_minutes: int = 15  # a plan change smaller than this is not reported
    # the one promise tolerance: a re-plan keeps every booking's arrival within this of the ETA the customer was
    # told (an emergency may come earlier), counts a retime beyond it against the change budget, and tells the
    # customer the new arrival (an assignment.changed event) when no plan can keep it or a dispatcher released it
    eta_tolerance_minutes: int = Field(default=30, ge=0)
    replan_failure_backoff_s: float = 60.0  # a day that failed to plan is tried again after this long

    # SLA watch
    sla_check_interval_s: float = 30.0  # 0 turns it off
    # unbooked work is judged (a placement finds its best arrival) only when its response deadline is this close;
    # later work is left to the planner, and the board and the SLA watch stay a few statements whatever the backlog
    sla_prediction_horizon_minutes: int = Field(default=240, ge=0)

    # overrun watch: a job on site past its planned end plus the grace has the rest of its day re-planned
    overrun_grace_minutes: int = 15
    overrun_check_interval_s: float = 60.0  # 0 turns it off

    # the live day: ETAs follow positions; implausible status steps are flagged to the dispatcher
    eta_update_minutes: float = 3.0  # a position ping moves an en-route ETA only when it shifts by more than this
    implausible_speedup: float = 3.0  # an arrival this many times faster than the travel model expects is flagged
    arrival_radius_m: float = 1000.0  # "on site" reported further than this from the site is flagged
    least_work_share: float = 0.1  # completed sooner than this share of the planned duration after arrival: flagged

    @model_validator(mode="after")
    def _engine_has_an_address(self) -> Settings:
        for provider, url in (("osrm", self.osrm_url), ("valhalla", self.valhalla_url)):
            if self.travel_provider == provider and not url:
                raise ValueError(f"travel_provider {provider} needs {provider}_url")
        return self
