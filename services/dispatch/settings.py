from __future__ import annotations

from typing import ClassVar, Literal

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_DISPATCH_", extra="ignore")
    service_name: ClassVar[str] = "dispatch"

    port: int = 8001
    db_schema: str = "dispatch"
    timezone: str = "Europe/Simferopol"  # days, shifts and plans are local to the dispatch region
    # who plans the day and places emergencies: the optimiser, or the nearest-qualified-technician baseline
    # (planning/nearest.py) that `make day` compares it with
    policy: Literal["fieldline", "nearest"] = "fieldline"

    # reactive placement
    candidate_pool: int = 20
    reach_km: float = 200.0
    road_factor: float = 1.35
    booking_attempts: int = 32  # each collision means another placement won: enough for a burst at one spot
    book_late_emergencies: bool = True  # book the earliest arrival even past the SLA, and alert the dispatcher
    bundle_lookahead_hours: float = 72.0
    break_minutes: int = 30  # a break started without saying how long lasts this long

    # planning
    plan_horizon_days: int = 3
    plan_interval_s: float = 3600.0  # scheduled planning of the horizon; 0 turns it off
    replan_poll_s: float = 2.0  # how often queued re-plans are picked up; 0 turns it off
    planner_time_limit_s: float = 5.0
    change_budget: int = 3  # at most this many visits leave a technician's route per re-plan
    retime_threshold_minutes: int = 15  # a plan change smaller than this is not reported

    # SLA watch
    sla_check_interval_s: float = 30.0  # 0 turns it off

    # overrun watch: a job on site past its planned end plus the grace has the rest of its day re-planned
    overrun_grace_minutes: int = 15
    overrun_check_interval_s: float = 60.0  # 0 turns it off
