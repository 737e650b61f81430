"""libpq's `sslmode` & co. in DATABASE_URL become asyncpg's `ssl` argument instead of an unknown keyword."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from shared.db import create_engine
from shared.pg_tls import asyncpg_ssl, split_tls_params
from shared.settings import ServiceSettings
from tests.notify.tls import issue

BASE = "postgresql://fieldline:pw%40x@db.example.com:5432/fieldline"


def settings(url: str) -> ServiceSettings:
    return ServiceSettings(database_url=url)


def test_the_example_url_no_longer_hands_sslmode_to_asyncpg() -> None:
    engine = create_engine(settings(f"{BASE}?sslmode=require&application_name=x"))
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert "sslmode" not in kwargs
    assert engine.url.query == {"application_name": "x"}
    assert engine.url.password == "pw@x"


def test_url_without_tls_params_is_unchanged() -> None:
    url = f"{BASE}?options=-c%20statement_timeout%3D5s"
    assert split_tls_params(url) == (url, {})
    assert settings(url).asyncpg_connect_args == {}
    assert settings(BASE).asyncpg_url == "postgresql+asyncpg://" + BASE.removeprefix("postgresql://")


def test_tls_params_leave_the_url() -> None:
    s = settings(f"{BASE}?sslmode=verify-full&sslrootcert=system")
    assert s.asyncpg_url == "postgresql+asyncpg://fieldline:pw%40x@db.example.com:5432/fieldline"


def test_require_is_tls_without_verification() -> None:
    context = settings(f"{BASE}?sslmode=require").asyncpg_connect_args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False


def test_verify_full_verifies_chain_and_name_against_the_root_cert(tmp_path: Path) -> None:
    root, _, _ = issue(tmp_path, "db.example.com")  # any PEM certificate serves as a trust anchor here
    context = asyncpg_ssl({"sslmode": "verify-full", "sslrootcert": str(root)})
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509"] == 1, "the root certificate alone is trusted"


def test_verify_ca_verifies_the_chain_only() -> None:
    context = asyncpg_ssl({"sslmode": "verify-ca"})
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is False


@pytest.mark.parametrize(("mode", "expected"), [("disable", False), ("prefer", "prefer"), ("allow", "allow")])
def test_modes_asyncpg_knows_by_name(mode: str, expected: object) -> None:
    assert settings(f"{BASE}?sslmode={mode}").asyncpg_connect_args == {"ssl": expected}


def test_unknown_mode_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="sslmode='sometimes'"):
        asyncpg_ssl({"sslmode": "sometimes"})
