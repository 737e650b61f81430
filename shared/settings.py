"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.clock import Clock, clock_from_settings

REPO_ROOT = Path(__file__).resolve().parent.parent

# Unprefixed variables every service honours when its own prefixed one is not set.
_COMMON_ENV: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "nats_url": "NATS_URL",
    "nats_ca_file": "NATS_CA_FILE",
    "jwt_issuer": "FIELDLINE_JWT_ISSUER",
    "jwt_audience": "FIELDLINE_JWT_AUDIENCE",
    "jwt_jwks_url": "FIELDLINE_JWT_JWKS_URL",
    "jwt_public_key_file": "FIELDLINE_JWT_PUBLIC_KEY_FILE",
    "jwt_private_key_file": "FIELDLINE_JWT_PRIVATE_KEY_FILE",
    "log_level": "FIELDLINE_LOG_LEVEL",
    "clock_start": "FIELDLINE_CLOCK_START",
    "clock_speed": "FIELDLINE_CLOCK_SPEED",
    "clock_anchor": "FIELDLINE_CLOCK_ANCHOR",
}


class ServiceSettings(BaseSettings):
    """Settings every Fieldline service has. Subclasses set `service_name`, `env_prefix` and defaults."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: ClassVar[str] = "service"

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:5432/fieldline"
    db_schema: str = "public"
    db_pool_size: int = 10
    nats_url: str = "nats://127.0.0.1:4222"
    nats_stream_replicas: int = 1
    nats_duplicate_window_s: float = 600.0
    # the service's own NATS user (shared/messaging/permissions.py); never shared: FIELDLINE_<SVC>_NATS_USER/_PASSWORD
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # CA that signed the broker's certificate, for tls:// URLs (deploy/nats-cluster)
    nats_ca_file: Path | None = None
    jwt_issuer: str = "fieldline-local"
    jwt_audience: str = "fieldline"
    jwt_jwks_url: str | None = None
    jwt_public_key_file: Path = REPO_ROOT / ".run" / "keys" / "jwt-public.pem"
    jwt_private_key_file: Path = REPO_ROOT / ".run" / "keys" / "jwt-private.pem"
    outbox_poll_interval_s: float = 0.25
    outbox_batch_size: int = 100
    consumer_batch_size: int = 100
    consumer_max_deliver: int = 6
    consumer_ack_wait_s: float = 30.0
    # SIGTERM: requests in flight get this long to finish, then consumers finish the message in hand
    shutdown_drain_s: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"
    # The shared timeline (shared/clock.py): unset start and speed 1 is the real clock; a simulated day
    # gives every service the same start, speed and anchor (the Unix time at which the timeline is at start).
    clock_start: datetime | None = None
    clock_speed: float = Field(default=1.0, gt=0)
    clock_anchor: float | None = None

    def make_clock(self) -> Clock:
        """The clock these settings describe (real unless a simulated timeline is set)."""
        return clock_from_settings(self.clock_start, self.clock_speed, self.clock_anchor)

    @property
    def asyncpg_url(self) -> str:
        """The database URL with SQLAlchemy's asyncpg driver named."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        raise ValueError(f"unsupported database url: {url!r}")


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment: prefixed variables first, then the common ones, then overrides."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    values: dict[str, Any] = {}
    for field, env_name in _COMMON_ENV.items():
        if f"{prefix}{field.upper()}" not in os.environ and env_name in os.environ:
            values[field] = os.environ[env_name]
    values.update(overrides)
    return cls(**values)
