"""Minting and verifying bearer JWTs. The algorithm is pinned; iss, aud and exp are required."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import jwt

from shared.auth.claims import ClaimMapping
from shared.auth.principal import Principal, Role
from shared.clock import wall_time
from shared.errors import Unauthorized

ALGORITHM = "RS256"
# the role is required too, at the path the claim mapping names (shared/auth/claims.py)
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


def mint_token(
    private_key_pem: bytes,
    *,
    issuer: str,
    audience: str,
    subject: str,
    role: Role,
    customer_id: uuid.UUID | None = None,
    technician_id: uuid.UUID | None = None,
    name: str | None = None,
    ttl_s: int = 12 * 3600,
) -> str:
    now = int(wall_time())  # token lifetimes are real time, whatever the company's clock says
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "role": role.value,
        "iat": now,
        "exp": now + ttl_s,
    }
    if customer_id is not None:
        claims["customer_id"] = str(customer_id)
    if technician_id is not None:
        claims["technician_id"] = str(technician_id)
    if name:
        claims["name"] = name
    return jwt.encode(claims, private_key_pem, algorithm=ALGORITHM)


class TokenVerifier:
    """Verifies against a static public key (local) or an OIDC JWKS URL (production); ``claims`` says where the
    identity provider puts the role and the ids (Fieldline's flat claims by default)."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        public_key_file: Path | None = None,
        jwks_url: str | None = None,
        jwks_cache_s: int = 300,
        claims: ClaimMapping | None = None,
    ) -> None:
        if not public_key_file and not jwks_url:
            raise ValueError("a public key file or a JWKS URL is required")
        self.claims = claims or ClaimMapping()
        self.issuer = issuer
        self.audience = audience
        self._public_key_file = public_key_file
        self._public_key: bytes | None = None
        # cache_keys=False: PyJWKClient's per-key LRU cache never expires; the key set's cache lives jwks_cache_s,
        # so a key the provider withdrew stops being trusted within that time
        self._jwks = (
            jwt.PyJWKClient(jwks_url, cache_keys=False, cache_jwk_set=True, lifespan=jwks_cache_s) if jwks_url else None
        )

    async def verify(self, token: str) -> Principal:
        if self._jwks is not None:
            try:
                signing_key: Any = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
            except jwt.PyJWTError as exc:
                raise Unauthorized(f"token key not found: {exc}") from exc
        else:
            if self._public_key is None:
                assert self._public_key_file is not None
                self._public_key = self._public_key_file.read_bytes()
            signing_key = self._public_key
        try:
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return self.claims.principal(claims)
