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

    # who is told what
    eta_change_threshold_minutes: int = 15
    # older events still update streams and state but send no e-mail/webhook: a new durable consumer starts
    # at the beginning of its stream, and news of days ago is not news
    notice_max_age_s: float = 24 * 3600.0
    default_time_zone: str = "Europe/Simferopol"
    public_base_url: str = "https://fieldline.local"  # links in messages point here

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
