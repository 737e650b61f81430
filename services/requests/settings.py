from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_REQUESTS_", extra="ignore")
    service_name: ClassVar[str] = "requests"

    port: int = 8003
    db_schema: str = "requests"
