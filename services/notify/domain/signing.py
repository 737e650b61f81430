"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, sent in one header."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Fieldline-Signature"
SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<body>` keyed with the webhook's secret."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex>`: the receiver recomputes v1 and rejects stale timestamps."""
    return f"t={timestamp},{SIGNATURE_VERSION}={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does: check the signature and that the timestamp is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get(SIGNATURE_VERSION, ""))
