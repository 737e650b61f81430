from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_DISPATCH_", extra="ignore")
    service_name: ClassVar[str] = "dispatch"

    port: int = 8001
    db_schema: str = "dispatch"

    # reactive placement
    candidate_pool: int = 20
    road_factor: float = 1.3
    average_speed_kmh: float = 40.0
