from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.attachments.settings import AttachmentStoreSettings
from shared.settings import ServiceSettings

MIN_SECRET_BYTES = 32  # HS256 wants a key at least as long as its hash


class Settings(ServiceSettings, AttachmentStoreSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_REQUESTS_", extra="ignore")
    service_name: ClassVar[str] = "requests"

    port: int = 8003
    db_schema: str = "requests"

    # entitlement over NATS: when contracts does not answer, the POST is refused with 503 + Retry-After
    entitlement_timeout_s: float = 3.0
    entitlement_retry_after_s: int = 5

    # customers' photos of what is wrong (attachment_store, attachment_max_bytes, s3_*: AttachmentStoreSettings)
    photos_per_request: int = 10

    # survey links: HS256 JWTs under a dedicated secret; without one set, a generated secret is kept in
    # `survey_link_secret_file` (default: beside the local JWT key) so every local replica shares it
    survey_link_secret: SecretStr | None = None
    survey_link_secret_file: Path | None = None
    survey_link_base_url: str = "http://127.0.0.1:8003/surveys/"
    survey_link_ttl_days: int = 30

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        secret = self.survey_link_secret.get_secret_value().encode() if self.survey_link_secret else b""
        if len(secret) < MIN_SECRET_BYTES:
            problems.append(
                f"FIELDLINE_REQUESTS_SURVEY_LINK_SECRET must be set, at least {MIN_SECRET_BYTES} bytes "
                "(production does not generate one)"
            )
        return problems

    # KPIs and the public rating
    on_time_tolerance_minutes: int = 15
    repeat_window_days: int = 30
    rating_window_days: int = 365
    rating_cache_max_age_s: int = 300

    stream_keepalive_s: float = 15.0
