from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_NOTIFY_", extra="ignore")
    service_name: ClassVar[str] = "notify"

    port: int = 8004
    db_schema: str = "notify"

    sse_keepalive_s: float = 15.0
