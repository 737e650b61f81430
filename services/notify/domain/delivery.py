"""The outcome of one attempt to send a delivery, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    delivered: bool
    permanent: bool  # a failure that retrying cannot fix
    detail: str
