"""Signed survey links: a customer answers without logging in, and only the survey the link was made for.

The token is a JWT (PyJWT, HS256 pinned) under a secret used for nothing else: its `sub` is the survey,
`customer_id` the job's customer, `aud` fixes its purpose and `exp` its lifetime, so a bearer token of
the API can never pass as a survey link and the other way round.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jwt

from services.requests.settings import Settings
from shared.clock import Clock
from shared.errors import Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "fieldline-survey"


@dataclass(frozen=True)
class SurveyClaim:
    survey_id: uuid.UUID
    customer_id: uuid.UUID


class SurveyLinks:
    def __init__(self, secret: bytes, base_url: str, issuer: str, clock: Clock) -> None:
        self._secret = secret
        self._clock = clock
        self._base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._issuer = issuer

    def token(self, survey_id: uuid.UUID, customer_id: uuid.UUID, expires_at: datetime) -> str:
        return jwt.encode(
            {
                "sub": str(survey_id),
                "customer_id": str(customer_id),
                "aud": AUDIENCE,
                "iss": self._issuer,
                "exp": expires_at,
            },
            self._secret,
            algorithm=ALGORITHM,
        )

    def link(self, token: str) -> str:
        return self._base_url + token

    def verify(self, token: str) -> SurveyClaim:
        try:
            # expiry is judged on the service's clock, not the wall clock PyJWT would read
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["sub", "customer_id", "aud", "iss", "exp"], "verify_exp": False},
            )
            if not isinstance(claims["exp"], int | float) or claims["exp"] <= self._clock.now().timestamp():
                raise jwt.ExpiredSignatureError("Signature has expired")
            return SurveyClaim(survey_id=uuid.UUID(claims["sub"]), customer_id=uuid.UUID(claims["customer_id"]))
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized("this survey link is invalid or has expired") from exc


def survey_links(settings: Settings, clock: Clock) -> SurveyLinks:
    if settings.survey_link_secret is not None:
        secret = settings.survey_link_secret.get_secret_value().encode()
    else:
        secret = _local_secret(
            settings.survey_link_secret_file or settings.jwt_private_key_file.parent / "survey-link.secret"
        )
    return SurveyLinks(secret, settings.survey_link_base_url, settings.jwt_issuer, clock)


def _local_secret(path: Path) -> bytes:
    """Read the local secret, creating it once; the first of several processes starting together wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_suffix(f".{os.getpid()}.tmp")
        candidate.write_text(secrets.token_urlsafe(48))
        candidate.chmod(0o600)
        try:
            os.link(candidate, path)  # atomic and exclusive: a complete file or none
        except FileExistsError:
            pass
        finally:
            candidate.unlink(missing_ok=True)
    return path.read_bytes().strip()
