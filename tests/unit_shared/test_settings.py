"""Settings precedence: the service's prefixed variable, then the common one, then the default; overrides win."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings, load_settings

DEFAULT_DB = ServiceSettings.model_fields["database_url"].default


class BoilerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINE_BOILER_", extra="ignore")
    service_name: ClassVar[str] = "boiler"

    db_schema: str = "boiler"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "NATS_URL",
        "FIELDLINE_BOILER_DATABASE_URL",
        "FIELDLINE_BOILER_NATS_URL",
        "FIELDLINE_BOILER_PORT",
        "FIELDLINE_LOG_LEVEL",
        "FIELDLINE_BOILER_LOG_LEVEL",
        "FIELDLINE_JWT_ISSUER",
        "FIELDLINE_BOILER_JWT_ISSUER",
        "FIELDLINE_TIMEZONE",
        "FIELDLINE_BOILER_TIMEZONE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_default_applies_when_nothing_is_set() -> None:
    settings = load_settings(BoilerSettings)
    assert settings.database_url == DEFAULT_DB
    assert settings.db_schema == "boiler"


def test_the_common_variable_beats_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://common@db/fieldline")
    monkeypatch.setenv("FIELDLINE_LOG_LEVEL", "debug")
    settings = load_settings(BoilerSettings)
    assert settings.database_url == "postgresql://common@db/fieldline"
    assert settings.log_level == "debug"


def test_the_prefixed_variable_beats_the_common_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://common@db/fieldline")
    monkeypatch.setenv("FIELDLINE_BOILER_DATABASE_URL", "postgresql://own@db/boiler")
    monkeypatch.setenv("NATS_URL", "nats://common:4222")
    monkeypatch.setenv("FIELDLINE_BOILER_PORT", "8123")
    settings = load_settings(BoilerSettings)
    assert settings.database_url == "postgresql://own@db/boiler"
    assert settings.nats_url == "nats://common:4222", "a variable the service does not set itself stays common"
    assert settings.port == 8123


def test_explicit_overrides_beat_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://common@db/fieldline")
    monkeypatch.setenv("FIELDLINE_BOILER_DATABASE_URL", "postgresql://own@db/boiler")
    assert load_settings(BoilerSettings, database_url="postgresql://test@db/x").database_url == "postgresql://test@db/x"


@pytest.mark.parametrize("url", ["postgresql://u@h:5432/d", "postgres://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"])
def test_every_postgres_url_spelling_becomes_asyncpg(url: str) -> None:
    assert BoilerSettings(database_url=url).asyncpg_url == "postgresql+asyncpg://u@h:5432/d"


def test_an_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database url"):
        _ = BoilerSettings(database_url="mysql://u@h/d").asyncpg_url


def test_the_company_time_zone_is_one_setting_for_every_service_and_must_be_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings(BoilerSettings).timezone == "Europe/Simferopol"
    monkeypatch.setenv("FIELDLINE_TIMEZONE", "Europe/Moscow")
    assert load_settings(BoilerSettings).timezone == "Europe/Moscow"
    monkeypatch.setenv("FIELDLINE_TIMEZONE", "Crimea/Simferopol")
    with pytest.raises(ValueError, match="unknown time zone 'Crimea/Simferopol'"):
        load_settings(BoilerSettings)
