"""Production mode (FIELDLINE_ENV=production) refuses development defaults; HTML gets security headers (issue 16)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from pydantic import SecretStr
from sqlalchemy import MetaData

from services.notify.settings import Settings as NotifySettings
from services.requests.settings import Settings as RequestsSettings
from shared.auth.keys import ensure_local_keypair
from shared.auth.tokens import TokenVerifier
from shared.messaging import messaging_tables
from shared.security_headers import HTML_POLICY
from shared.service import ProductionRefused, ServiceSpec, create_service_app
from shared.settings import ServiceSettings, load_settings


def _app(settings: ServiceSettings, routers: list[APIRouter] | None = None, **spec: object) -> FastAPI:
    tables = messaging_tables(MetaData(schema="edge"))
    return create_service_app(
        settings,
        ServiceSpec(title="edge", producer="edge", tables=tables, routers=routers or [], **spec),  # type: ignore[arg-type]
    )


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


def _keys(tmp_path: Path) -> dict[str, Path]:
    return {"jwt_public_key_file": tmp_path / "pub.pem", "jwt_private_key_file": tmp_path / "key.pem"}


def test_production_never_generates_a_key_pair_and_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    settings = ServiceSettings(environment="production", **_keys(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(ProductionRefused, match="never generates a local key pair"):
        _app(settings)
    assert not (tmp_path / "pub.pem").exists() and not (tmp_path / "key.pem").exists()


def test_the_environment_comes_from_fieldline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDLINE_ENV", "production")
    assert load_settings(ServiceSettings).production
    monkeypatch.setenv("FIELDLINE_ENV", "staging")
    with pytest.raises(ValueError, match="environment"):
        load_settings(ServiceSettings)


def test_an_operators_public_key_is_never_replaced_by_a_generated_pair(tmp_path: Path) -> None:
    public = tmp_path / "pub.pem"
    public.write_bytes(b"-----BEGIN PUBLIC KEY----- the operator's -----END PUBLIC KEY-----\n")
    ensure_local_keypair(tmp_path / "key.pem", public)
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY----- the operator's")
    assert not (tmp_path / "key.pem").exists()


async def test_production_hides_the_docs_unless_a_setting_shows_them(tmp_path: Path) -> None:
    ensure_local_keypair(tmp_path / "key.pem", tmp_path / "pub.pem")
    hidden = _app(ServiceSettings(environment="production", **_keys(tmp_path)))  # type: ignore[arg-type]
    shown = _app(ServiceSettings(environment="production", docs_enabled=True, **_keys(tmp_path)))  # type: ignore[arg-type]
    development = _app(ServiceSettings(**_keys(tmp_path)))  # type: ignore[arg-type]
    async with _client(hidden) as api:
        assert {(await api.get(p)).status_code for p in ("/docs", "/redoc", "/openapi.json")} == {404}
    for app in (shown, development):
        async with _client(app) as api:
            assert (await api.get("/docs")).status_code == 200
            assert (await api.get("/openapi.json")).status_code == 200


def test_notify_in_production_refuses_the_development_fernet_key() -> None:
    assert any("development Fernet key" in p for p in NotifySettings(environment="production").production_problems())
    own = NotifySettings(environment="production", webhook_secret_keys=[SecretStr(Fernet.generate_key().decode())])
    assert not any("Fernet" in p for p in own.production_problems())


@pytest.mark.parametrize(("secret", "refused"), [(None, True), ("s" * 31, True), ("s" * 32, False)])
def test_requests_in_production_wants_a_survey_secret_of_32_bytes(secret: str | None, refused: bool) -> None:
    settings = RequestsSettings(
        environment="production", survey_link_secret=SecretStr(secret) if secret is not None else None
    )
    assert any("SURVEY_LINK_SECRET" in p for p in settings.production_problems()) is refused


def test_jwks_keys_are_trusted_for_a_bounded_time() -> None:
    verifier = TokenVerifier(issuer="i", audience="a", jwks_url="https://idp.example/jwks", jwks_cache_s=120)
    jwks = verifier._jwks
    assert jwks is not None
    assert jwks.jwk_set_cache is not None and jwks.jwk_set_cache.lifespan == 120
    # PyJWKClient's per-key cache has no expiry at all: it must be off
    assert not hasattr(jwks.get_signing_key, "cache_info")


async def test_html_pages_get_a_strict_policy_and_secret_pages_are_not_stored(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/surveys/{token}", response_class=HTMLResponse)
    async def survey(token: str) -> str:
        return "<p>how did we do?</p>"

    @router.get("/rating.html", response_class=HTMLResponse)
    async def rating() -> str:
        return "<div>4.8</div>"

    @router.get("/plain")
    async def plain() -> dict[str, str]:
        return {"ok": "yes"}

    app = _app(
        ServiceSettings(**_keys(tmp_path)),  # type: ignore[arg-type]
        [router],
        no_store_paths=[r"/surveys/.*"],
        frameable_paths=[r"/rating\.html"],
    )
    async with _client(app) as api:
        page = await api.get("/surveys/secret-token")
        snippet = await api.get("/rating.html")
        data = await api.get("/plain")
        docs = await api.get("/docs")
    assert page.headers["Content-Security-Policy"] == HTML_POLICY and "frame-ancestors 'none'" in HTML_POLICY
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors *" in snippet.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in snippet.headers
    assert "Cache-Control" not in snippet.headers
    assert data.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" not in data.headers
    assert docs.status_code == 200 and "Content-Security-Policy" not in docs.headers
