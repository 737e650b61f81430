"""Tokens an attacker or a misconfigured client might send, each of which must be refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import Role, mint_token

ISSUER = "fieldline-local"
AUDIENCE = "fieldline"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64url_json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def other_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "anna",
        "role": Role.CUSTOMER.value,
        "customer_id": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(private_pem: bytes, **overrides: Any) -> str:
    """A token properly signed with `private_pem` (RS256) whatever its claims say."""
    return jwt.encode(claims(**overrides), private_pem, algorithm="RS256")


def tampered(token: str, **changes: Any) -> str:
    """The payload changed, the original header and signature kept."""
    header, payload, signature = token.split(".")
    return ".".join((header, b64url_json({**unb64url_json(payload), **changes}), signature))


def unsigned(**overrides: Any) -> str:
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(claims(**overrides))}."


def hs256_with_public_key(public_pem: bytes, **overrides: Any) -> str:
    """The key-confusion attack: HMAC keyed with the (public) RSA key, hoping the verifier accepts HS256."""
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT'})}.{b64url_json(claims(**overrides))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def refused_tokens(private_pem: bytes, public_pem: bytes) -> dict[str, Callable[[], str]]:
    """Every token the verifier must refuse, by name; built lazily so each test pays only for its own."""
    customer = uuid.uuid4()

    def valid() -> str:
        return mint_token(
            private_pem, issuer=ISSUER, audience=AUDIENCE, subject="anna", role=Role.CUSTOMER, customer_id=customer
        )

    return {
        "tampered role": lambda: tampered(valid(), role=Role.ADMIN.value),
        "tampered customer": lambda: tampered(valid(), customer_id=str(uuid.uuid4())),
        "tampered expiry": lambda: tampered(signed(private_pem, exp=int(time.time()) - 60), exp=2**31),
        "signed by another key": lambda: signed(other_private_key_pem()),
        "expired": lambda: signed(private_pem, iat=int(time.time()) - 7200, exp=int(time.time()) - 60),
        "wrong audience": lambda: signed(private_pem, aud="someone-else"),
        "wrong issuer": lambda: signed(private_pem, iss="https://evil.example"),
        "alg none": lambda: unsigned(),
        "alg none, signature kept": lambda: tampered_header(valid(), alg="none"),
        "HS256 keyed with the public key": lambda: hs256_with_public_key(public_pem),
        "no expiry": lambda: signed(private_pem, exp=None),
        "no role": lambda: signed(private_pem, role=None),
        "unknown role": lambda: signed(private_pem, role="superuser"),
        "customer without customer_id": lambda: signed(private_pem, customer_id=None),
        "technician without technician_id": lambda: signed(private_pem, role=Role.TECHNICIAN.value),
        "customer_id not a uuid": lambda: signed(private_pem, customer_id="anna's shop"),
        "customer_id a number": lambda: signed(private_pem, customer_id=12345),
        "not a JWT": lambda: "not-a-token",
        "garbage segments": lambda: "a.b.c",
    }


def tampered_header(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    return ".".join((b64url_json({**unb64url_json(header), **changes}), payload, signature))
