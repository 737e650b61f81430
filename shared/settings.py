"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.auth.principal import Role
from shared.clock import Clock, clock_from_settings
from shared.pg_tls import asyncpg_connect_args, split_tls_params

REPO_ROOT = Path(__file__).resolve().parent.parent

# Unprefixed variables every service honours when its own prefixed one is not set.
_COMMON_ENV: dict[str, str] = {
    "database_url": "DATABASE_URL",
    "migration_database_url": "MIGRATION_DATABASE_URL",
    "nats_url": "NATS_URL",
    "nats_ca_file": "NATS_CA_FILE",
    "jwt_issuer": "FIELDLINE_JWT_ISSUER",
    "jwt_audience": "FIELDLINE_JWT_AUDIENCE",
    "jwt_jwks_url": "FIELDLINE_JWT_JWKS_URL",
    "jwt_public_key_file": "FIELDLINE_JWT_PUBLIC_KEY_FILE",
    "jwt_private_key_file": "FIELDLINE_JWT_PRIVATE_KEY_FILE",
    "jwt_role_claim": "FIELDLINE_JWT_ROLE_CLAIM",
    "jwt_role_map": "FIELDLINE_JWT_ROLE_MAP",
    "jwt_customer_id_claim": "FIELDLINE_JWT_CUSTOMER_ID_CLAIM",
    "jwt_technician_id_claim": "FIELDLINE_JWT_TECHNICIAN_ID_CLAIM",
    "jwt_name_claim": "FIELDLINE_JWT_NAME_CLAIM",
    "log_level": "FIELDLINE_LOG_LEVEL",
    "timezone": "FIELDLINE_TIMEZONE",
    "metrics_enabled": "FIELDLINE_METRICS_ENABLED",
    "tracing_enabled": "FIELDLINE_TRACING_ENABLED",
    "traces_exporter": "FIELDLINE_TRACES_EXPORTER",
    "traces_otlp_endpoint": "FIELDLINE_TRACES_OTLP_ENDPOINT",
    "traces_sample_ratio": "FIELDLINE_TRACES_SAMPLE_RATIO",
    "environment": "FIELDLINE_ENV",
    "docs_enabled": "FIELDLINE_DOCS_ENABLED",
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
    # DDL runs as this user (shared/db_roles.py: the migrator owns the schemas); unset: `database_url`'s user
    migration_database_url: str | None = None
    db_schema: str = "public"
    db_pool_size: int = 10
    # PostgreSQL cancels any statement of this service running longer than this (0: no limit)
    db_statement_timeout_s: float = Field(default=15.0, ge=0)
    # request bodies (shared/limits.py): JSON routes, and the upload routes a service names (CSV imports)
    body_limit_bytes: int = Field(default=64 * 1024, gt=0)
    upload_body_limit_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # rate limits (shared/ratelimit.py), counted in PostgreSQL so every replica shares them; per window of the clock
    rate_limits_enabled: bool = True
    rate_limit_window_s: int = Field(default=60, gt=0)
    rate_limit_per_principal: int = Field(default=30, gt=0)  # writes: filing, cancelling, recipients
    rate_limit_per_ip: int = Field(default=300, gt=0)  # the same writes from one address (many users behind a NAT)
    rate_limit_anonymous_per_ip: int = Field(default=60, gt=0)  # no login: survey answers, rating, readiness
    # live streams (SSE) open at once in one process: per principal, and in all
    sse_max_per_principal: int = Field(default=3, gt=0)
    sse_max_per_process: int = Field(default=500, gt=0)
    # production refuses development defaults at start (a subclass adds its own checks to `production_problems`)
    environment: Literal["development", "production"] = "development"
    docs_enabled: bool | None = None  # /docs, /redoc and /openapi.json; unset: on outside production
    jwt_jwks_cache_s: int = Field(default=300, gt=0)  # how long keys fetched from the JWKS URL are trusted

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def show_docs(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.production

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for production (checked at start when `environment` is production)."""
        problems = []
        if self.jwt_jwks_url is None and not self.jwt_public_key_file.exists():
            problems.append(
                "no JWKS URL and no public key file: production never generates a local key pair "
                f"(set FIELDLINE_JWT_JWKS_URL or provide {self.jwt_public_key_file})"
            )
        return problems

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
    # where the identity provider puts who the caller is (shared/auth/claims.py, docs/identity.md): claim names or
    # dot paths (Keycloak's realm roles: realm_access.roles), and its role names -> Fieldline's (JSON in the env)
    jwt_role_claim: str = "role"
    jwt_role_map: dict[str, Role] = Field(default_factory=dict)
    jwt_customer_id_claim: str = "customer_id"
    jwt_technician_id_claim: str = "technician_id"
    jwt_name_claim: str = "name"
    outbox_poll_interval_s: float = 0.25
    outbox_batch_size: int = 100
    consumer_batch_size: int = 100
    consumer_max_deliver: int = 6
    consumer_ack_wait_s: float = 30.0
    # SIGTERM: requests in flight get this long to finish, then consumers finish the message in hand
    shutdown_drain_s: float = Field(default=10.0, ge=0)
    log_level: str = "INFO"
    # the company's time zone (IANA): where its days begin, for shifts, plans and the days KPIs are cut into
    timezone: str = "Europe/Simferopol"
    # GET /metrics (Prometheus, unauthenticated): off here, or fenced to the cluster (docs/operations.md)
    metrics_enabled: bool = True
    # traces (shared/tracing.py, docs/operations.md): off by default; on, spans go to an OTLP/HTTP collector at
    # this endpoint (unset: the SDK's OTEL_EXPORTER_OTLP_* variables, else http://localhost:4318/v1/traces), or
    # nowhere with the exporter "none" (trace ids in the logs only)
    tracing_enabled: bool = False
    traces_exporter: Literal["otlp", "none"] = "otlp"
    traces_otlp_endpoint: str | None = None
    traces_sample_ratio: float = Field(default=1.0, ge=0, le=1)  # of new traces; a caller's decision is kept
    # The shared timeline (shared/clock.py): unset start and speed 1 is the real clock; a simulated day
    # gives every service the same start, speed and anchor (the Unix time at which the timeline is at start).
    clock_start: datetime | None = None
    clock_speed: float = Field(default=1.0, gt=0)
    clock_anchor: float | None = None

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Simferopol)") from None
        return value

    @field_validator("jwt_role_map", mode="before")
    @classmethod
    def _role_map_from_json(cls, value: Any) -> Any:
        """FIELDLINE_JWT_ROLE_MAP is JSON (`{"fl-dispatch": "dispatcher"}`) whether it reaches the settings through
        the prefixed variable (parsed by pydantic-settings) or the common one (passed on as text)."""
        return json.loads(value) if isinstance(value, str) else value

    def make_clock(self) -> Clock:
        """The clock these settings describe (real unless a simulated timeline is set)."""
        return clock_from_settings(self.clock_start, self.clock_speed, self.clock_anchor)

    @property
    def asyncpg_url(self) -> str:
        """The database URL with SQLAlchemy's asyncpg driver named, libpq's TLS parameters taken out (they go
        to `asyncpg_connect_args`: asyncpg refuses `sslmode` as a keyword)."""
        return _asyncpg_url(self.database_url)

    @property
    def asyncpg_connect_args(self) -> dict[str, Any]:
        """`{"ssl": ...}` from the URL's `sslmode`/`sslrootcert`/... (shared/pg_tls.py), or nothing."""
        return asyncpg_connect_args(self.database_url)

    @property
    def migration_url(self) -> str:
        return self.migration_database_url or self.database_url


def _asyncpg_url(database_url: str) -> str:
    url = split_tls_params(database_url)[0]
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"unsupported database url: {url!r}")


def asyncpg_engine_url(database_url: str) -> tuple[str, dict[str, Any]]:
    """SQLAlchemy's asyncpg URL for `database_url` and its connect arguments (TLS)."""
    return _asyncpg_url(database_url), asyncpg_connect_args(database_url)


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
