from __future__ import annotations

import base64
import binascii
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# Encrypts webhook secrets at rest when no key is configured: fine for `make run` and tests, never for production
# (it is public). The service logs a warning at startup while it is in use.
DEVELOPMENT_WEBHOOK_SECRET_KEY = "r8RNDYIFb4Eha1HRrNLW_3A13cJxClKk4OD2aN1sQos="


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_NOTIFY_", extra="ignore")
    service_name: ClassVar[str] = "notify"

    port: int = 8004
    db_schema: str = "notify"

    sse_keepalive_s: float = 15.0
    # live streams keep their messages this long (positions make most of them), pruned every interval
    stream_retention_hours: float = 48.0
    stream_prune_interval_s: float = 600.0

    # who is told what
    eta_change_threshold_minutes: int = 15
    # older events still update streams and state but send no e-mail/webhook: a new durable consumer starts
    # at the beginning of its stream, and news of days ago is not news
    notice_max_age_s: float = 24 * 3600.0
    default_time_zone: str = "Europe/Simferopol"
    public_base_url: str = "https://fieldline.local"  # links in messages point here
    # the contacts (recipients) one customer may have, confirmed or pending
    max_recipients_per_customer: int = Field(default=10, gt=0)

    # e-mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    smtp_use_tls: bool = False
    smtp_timeout_s: float = 30.0
    mail_from: str = "Fieldline <notify@fieldline.local>"

    # the delivery queue: claimed by every replica, retried with back-off until the window closes
    delivery_poll_interval_s: float = 1.0
    delivery_batch_size: int = 20
    delivery_lease_s: float = 120.0  # a claimed row is retried by anyone after this if its worker died
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
    retry_window_s: float = 24 * 3600.0
    dead_letter_poll_interval_s: float = 5.0

    # webhooks
    webhook_timeout_s: float = 10.0
    webhook_max_redirects: int = 3
    # `ip:port` pairs that may be reached over http or on loopback/private addresses (development, tests)
    webhook_allow_list: list[str] = []
    # Fernet keys (urlsafe base64 of 32 bytes) for webhook secrets at rest, as a JSON list: the first encrypts,
    # every one decrypts. To rotate: put a new key first and keep the old ones after it until every row has been
    # re-encrypted (each start-up does that). Generate one with
    # `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
    webhook_secret_keys: list[SecretStr] = [SecretStr(DEVELOPMENT_WEBHOOK_SECRET_KEY)]

    @field_validator("webhook_secret_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if not keys:
            raise ValueError("at least one key is needed")
        for position, key in enumerate(keys):
            try:
                valid = len(base64.urlsafe_b64decode(key.get_secret_value().encode())) == 32
            except (binascii.Error, ValueError):
                valid = False
            if not valid:
                raise ValueError(f"key {position} is not a Fernet key (urlsafe base64 of 32 bytes)")
        return keys

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if DEVELOPMENT_WEBHOOK_SECRET_KEY in [k.get_secret_value() for k in self.webhook_secret_keys]:
            problems.append("the public development Fernet key is among FIELDLINE_NOTIFY_WEBHOOK_SECRET_KEYS")
        return problems


def development_key_warning(settings: Settings) -> str | None:
    """What to log at start-up while the public development key is among the webhook secret keys."""
    keys = [k.get_secret_value() for k in settings.webhook_secret_keys]
    if DEVELOPMENT_WEBHOOK_SECRET_KEY not in keys:
        return None
    use = "encrypts" if keys[0] == DEVELOPMENT_WEBHOOK_SECRET_KEY else "can decrypt"
    return (
        f"the public development key {use} webhook secrets at rest: set FIELDLINE_NOTIFY_WEBHOOK_SECRET_KEYS "
        "to your own Fernet key(s) outside development"
    )
