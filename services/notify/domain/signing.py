"""Webhook signatures, two ways on every delivery:

- `Fieldline-Signature`: HMAC-SHA256 over the timestamp and the body. While a rotated-out secret is in its grace
  period the header carries one `v1` per secret, the current one first (`t=<ts>,v1=<new>,v1=<old>`, as Stripe
  does); a receiver accepts the body when any `v1` matches a secret it holds.
- the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`, standardwebhooks.com),
  signed by the spec's maintained library, so a receiver can verify with any Standard Webhooks implementation;
  one `v1,<base64>` per secret, space-separated, the same way round.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

SIGNATURE_HEADER = "Fieldline-Signature"
SIGNATURE_VERSION = "v1"

# how long the old secret still signs after a rotation, unless the rotation asks for another period
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
MAX_ROTATION_GRACE = timedelta(days=7)


def new_secret() -> str:
    """32 random bytes, base64 after `whsec_`, as the Standard Webhooks spec has secrets."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def standard_webhook_headers(
    signing_secrets: Sequence[str], delivery_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (one `v1,<base64>` per secret, current first).
    A secret from before the spec's format (URL-safe base64) that does not decode signs the Fieldline header only."""
    at = datetime.fromtimestamp(timestamp, UTC)
    signed = []
    for secret in signing_secrets:
        try:
            signed.append(Webhook(secret).sign(delivery_id, at, body))
        except (binascii.Error, ValueError):
            continue
    return {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp), "webhook-signature": " ".join(signed)}


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<body>` keyed with the webhook's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(signing_secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex>[,v1=<hex>]`: one v1 per secret, current first; receivers check any."""
    if isinstance(signing_secrets, str) or not signing_secrets:
        raise TypeError("signature_header takes a non-empty sequence of secrets")
    return ",".join(
        [f"t={timestamp}"] + [f"{SIGNATURE_VERSION}={signature(s, timestamp, body)}" for s in signing_secrets]
    )


def signing_secrets(
    current: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign a delivery at `now`: the old one only strictly before its expiry."""
    if previous is not None and previous_expires_at is not None and now < previous_expires_at:
        return [current, previous]
    return [current]


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: check that the timestamp is recent and that one of the v1 signatures is ours."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    timestamps = [value for key, value in parts if key == "t"]
    try:
        (timestamp,) = (int(t) for t in timestamps)
    except ValueError:  # none, several, or not a number
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    # compare against every candidate, without stopping early
    matches = [hmac.compare_digest(expected, value) for key, value in parts if key == SIGNATURE_VERSION]
    return any(matches)
