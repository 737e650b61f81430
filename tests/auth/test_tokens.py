"""shared/auth/tokens.py: what it mints verifies; everything forged, stale or foreign is Unauthorized."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.auth import Principal, Role, TokenVerifier, ensure_local_keypair, mint_token
from shared.errors import Unauthorized
from tests.auth.forge import AUDIENCE, ISSUER, claims, other_private_key_pem, refused_tokens


@pytest.fixture(scope="module")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("token-keys")
    private, public = directory / "private.pem", directory / "public.pem"
    ensure_local_keypair(private, public)
    return private, public


@pytest.fixture
def verifier(key_files: tuple[Path, Path]) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, public_key_file=key_files[1])


REFUSED = sorted(refused_tokens(b"", b""))


async def test_a_minted_token_verifies_to_its_principal(key_files: tuple[Path, Path], verifier: TokenVerifier) -> None:
    technician = uuid.uuid4()
    token = mint_token(
        key_files[0].read_bytes(),
        issuer=ISSUER,
        audience=AUDIENCE,
        subject="oleg",
        role=Role.TECHNICIAN,
        technician_id=technician,
        name="Oleg Petrov",
    )
    assert await verifier.verify(token) == Principal(
        subject="oleg", role=Role.TECHNICIAN, technician_id=technician, name="Oleg Petrov"
    )
    assert jwt.get_unverified_header(token)["alg"] == "RS256"


@pytest.mark.parametrize("kind", REFUSED)
async def test_a_refused_token_raises_unauthorized(
    kind: str, key_files: tuple[Path, Path], verifier: TokenVerifier
) -> None:
    token = refused_tokens(key_files[0].read_bytes(), key_files[1].read_bytes())[kind]()
    with pytest.raises(Unauthorized):
        await verifier.verify(token)


async def test_staff_need_no_ownership_claims(key_files: tuple[Path, Path], verifier: TokenVerifier) -> None:
    token = mint_token(
        key_files[0].read_bytes(), issuer=ISSUER, audience=AUDIENCE, subject="dina", role=Role.DISPATCHER, ttl_s=60
    )
    principal = await verifier.verify(token)
    assert principal.is_staff and principal.customer_id is None and principal.technician_id is None


def test_a_verifier_needs_a_key_source() -> None:
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE)


def test_the_local_keypair_is_made_once(tmp_path: Path) -> None:
    private, public = tmp_path / "k" / "private.pem", tmp_path / "k" / "public.pem"
    ensure_local_keypair(private, public)
    first = (private.read_bytes(), public.read_bytes())
    ensure_local_keypair(private, public)
    assert (private.read_bytes(), public.read_bytes()) == first
    assert private.stat().st_mode & 0o077 == 0, "the private key is readable by its owner only"
    assert not list(private.parent.glob("*.tmp"))


# --- production: keys from the identity provider's JWKS --------------------------------------------------


@pytest.fixture(scope="module")
def jwks_url(key_files: tuple[Path, Path]) -> Iterator[str]:
    """The identity provider's JWKS on a loopback HTTP server, publishing the test key as kid `k1`."""
    public_key = serialization.load_pem_public_key(key_files[1].read_bytes())
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public_key))  # type: ignore[arg-type]
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class _Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()
    server.server_close()


async def test_jwks_verification_accepts_the_published_key_and_refuses_others(
    key_files: tuple[Path, Path], jwks_url: str
) -> None:
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url)
    private = key_files[0].read_bytes()
    good = jwt.encode(
        claims(role=Role.CONTRACT_MANAGER.value, customer_id=None), private, algorithm="RS256", headers={"kid": "k1"}
    )
    assert (await verifier.verify(good)).role is Role.CONTRACT_MANAGER
    for forged in (
        jwt.encode(claims(), other_private_key_pem(), algorithm="RS256", headers={"kid": "k1"}),
        jwt.encode(claims(), private, algorithm="RS256", headers={"kid": "unknown"}),
        jwt.encode(claims(aud="other"), private, algorithm="RS256", headers={"kid": "k1"}),
    ):
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)
