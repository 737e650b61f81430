from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.contracts.domain.notices import DEFAULT_ENDING_NOTICE_DAYS
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_CONTRACTS_", extra="ignore")
    service_name: ClassVar[str] = "contracts"

    port: int = 8002
    db_schema: str = "contracts"
    # planned visits are generated this many days ahead, by a sweep every `visit_sweep_interval_s` (0: off)
    visit_horizon_days: int = 60
    visit_sweep_interval_s: float = 3600.0
    # the sweep tells contract managers once when a contract's end date comes this many days near
    contract_ending_notice_days: int = DEFAULT_ENDING_NOTICE_DAYS
    # a quota unit reserved for a request is released when no created event confirms it within
    # `quota_reservation_ttl_s` (the request was never filed), checked every `quota_release_interval_s` (0: off)
    quota_reservation_ttl_s: float = 900.0
    quota_release_interval_s: float = 60.0
