"""Rate limits shared by every replica of a service: fixed windows counted in PostgreSQL (issue 16).

Maintained libraries were checked first: `limits` (and slowapi / fastapi-limiter on top of it) store counters
in memory, Redis, Memcached, MongoDB or etcd, none of which this deployment runs; pyrate-limiter's PostgreSQL
bucket is synchronous psycopg. The service already has PostgreSQL (asyncpg) in every replica, so one upsert
per check on a small `rate_limits` table in the service's schema is the whole limiter.

A window is `window_s` seconds of the service clock; a key (what, whom) may be counted `limit` times in it.
The count is committed in its own short transaction, so a refused or failed request still counts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.exc import SQLAlchemyError

from shared.auth import Principal, current_principal
from shared.clock import Clock
from shared.db import Database
from shared.errors import DomainError

log = logging.getLogger(__name__)

__all__ = [
    "RateLimited",
    "RateLimiter",
    "per_ip",
    "per_principal_and_ip",
    "rate_limit_table",
]


def rate_limit_table(metadata: MetaData) -> Table:
    """The counters, one row per key and window (declared in each service's tables, created by its migrations)."""
    return Table(
        "rate_limits",
        metadata,
        Column("key", Text, nullable=False),
        Column("window_start", DateTime(timezone=True), nullable=False),
        Column("hits", Integer, nullable=False),
        PrimaryKeyConstraint("key", "window_start"),
    )


class RateLimited(DomainError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


_HIT = text(
    "INSERT INTO rate_limits (key, window_start, hits) VALUES (:key, :window_start, 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits"
)
_FORGET = text("DELETE FROM rate_limits WHERE window_start < :before")


@dataclass
class RateLimiter:
    db: Database
    clock: Clock
    enabled: bool = True

    async def hit(self, key: str, limit: int, window_s: int) -> None:
        """Count one use of ``key``; raise `RateLimited` (with the seconds to the next window) past ``limit``."""
        if not self.enabled:
            return
        now = self.clock.now()
        epoch = now.timestamp()
        start = epoch - epoch % window_s
        try:
            async with self.db.transaction() as session:
                hits = (
                    await session.execute(_HIT, {"key": key, "window_start": datetime.fromtimestamp(start, UTC)})
                ).scalar_one()
        except (SQLAlchemyError, OSError):
            # fail open: with the database away the request fails on its own (readiness answers 503, not 500)
            log.warning("rate limit for %s not counted: the database did not answer", key.partition(":")[0])
            return
        if hits > limit:
            retry_after = max(1, math.ceil(start + window_s - epoch))
            raise RateLimited(f"at most {limit} of these per {window_s} s; try again later", retry_after_s=retry_after)

    async def forget_old_windows(self, keep_s: int = 3600) -> None:
        async with self.db.transaction() as session:
            await session.execute(_FORGET, {"before": self.clock.now() - timedelta(seconds=keep_s)})


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.runtime.extras["rate_limiter"]
    return limiter


def client_ip(request: Request) -> str:
    # behind the Ingress the server's --forwarded-allow-ips sets request.client from X-Forwarded-For
    return request.client.host if request.client else "unknown"


def _settings(request: Request) -> Any:
    return request.app.state.settings


def per_ip(name: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency for routes without a login (survey answers, the public rating, readiness): per client IP."""

    async def _dependency(request: Request) -> None:
        settings = _settings(request)
        await _limiter(request).hit(
            f"{name}:ip:{client_ip(request)}", settings.rate_limit_anonymous_per_ip, settings.rate_limit_window_s
        )

    return _dependency


def per_principal_and_ip(name: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency for writes by a signed-in caller (filing, cancelling, recipients): per principal and per IP.
    It authenticates (returns the principal), so the route needs no second token check for it."""

    async def _dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        settings = _settings(request)
        limiter = _limiter(request)
        await limiter.hit(
            f"{name}:sub:{principal.subject}", settings.rate_limit_per_principal, settings.rate_limit_window_s
        )
        await limiter.hit(f"{name}:ip:{client_ip(request)}", settings.rate_limit_per_ip, settings.rate_limit_window_s)
        return principal

    return _dependency
