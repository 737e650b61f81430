"""The development sign-in exists only while the services trust the development key pair."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from deploy.local.dev_signin import auth_routes
from deploy.local.gateway import GatewayConfig, create_app
from shared.auth import Role, TokenVerifier, ensure_local_keypair
from shared.settings import ServiceSettings


def _settings(tmp_path: Path, **overrides: object) -> ServiceSettings:
    private, public = tmp_path / "jwt-private.pem", tmp_path / "jwt-public.pem"
    ensure_local_keypair(private, public)
    return ServiceSettings(jwt_private_key_file=private, jwt_public_key_file=public, **overrides)  # type: ignore[arg-type]


async def _gateway_client(settings: ServiceSettings, demo_file: Path) -> httpx.AsyncClient:
    # what the gateway serves, and compose's signin service (python -m deploy.local.dev_signin)
    routes = auth_routes(settings, demo_file)
    app = create_app(GatewayConfig(upstreams={}, web_root=demo_file.parent), extra_routes=routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


async def test_with_the_development_keys_a_demo_technician_signs_in_with_a_token_the_services_accept(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    demo = tmp_path / "demo.json"
    technician_id = "880a8c76-afa8-4b3b-a055-b0bb8732d366"
    demo.write_text(
        json.dumps(
            {"customer_id": "f1052361-8ccb-4c39-8089-29ec111dbf66", "technician_ids": {"Anna Koval": technician_id}}
        )
    )

    async with await _gateway_client(settings, demo) as client:
        assert (await client.get("/auth/config")).json() == {"mode": "dev"}
        users = (await client.get("/auth/dev/users")).json()
        signed_in = await client.post("/auth/dev/token", json={"subject": "anna"})
        unknown = await client.post("/auth/dev/token", json={"subject": "mallory"})

    assert {"subject": "anna", "name": "Anna Koval", "role": "technician"} in users
    assert {u["role"] for u in users} >= {"dispatcher", "customer", "technician", "contract_manager"}
    verifier = TokenVerifier(
        issuer=settings.jwt_issuer, audience=settings.jwt_audience, public_key_file=settings.jwt_public_key_file
    )
    principal = await verifier.verify(signed_in.json()["access_token"])
    assert principal.role is Role.TECHNICIAN and str(principal.technician_id) == technician_id
    assert signed_in.headers["cache-control"] == "no-store"
    assert unknown.status_code == 422 and "subject" in unknown.json()["detail"]


@pytest.mark.parametrize("where", ["jwks", "no private key"])
async def test_with_an_identity_provider_no_token_is_minted(tmp_path: Path, where: str) -> None:
    if where == "jwks":
        settings = _settings(tmp_path, jwt_jwks_url="https://id.example.com/certs", jwt_issuer="https://id.example.com")
    else:
        settings = _settings(tmp_path)
        settings.jwt_private_key_file.unlink()

    async with await _gateway_client(settings, tmp_path / "demo.json") as client:
        config = (await client.get("/auth/config")).json()
        minted = await client.post("/auth/dev/token", json={"subject": "demo-dispatcher"})
        listed = await client.get("/auth/dev/users")

    assert config["mode"] == "oidc"
    assert minted.status_code in (404, 405) and "access_token" not in minted.text
    assert listed.status_code == 404
