"""Contracts' entitlement answer over NATS request/reply: the one outbound call of filing."""

from __future__ import annotations

from nats.aio.client import Client

from shared.errors import Unavailable
from shared.events.contracts import CHECK_ENTITLEMENT, EntitlementAnswer, EntitlementQuery
from shared.messaging import rpc


class EntitlementUnavailable(Unavailable):
    """Contracts did not answer: the request was not accepted, and may be sent again with the same key."""

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class ContractsEntitlement:
    """Asks contracts whether a site (and unit) is covered; raises `EntitlementUnavailable` when it is silent."""

    def __init__(self, nc: Client, *, timeout_s: float, retry_after_s: int) -> None:
        self.nc = nc
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s

    async def check(self, query: EntitlementQuery) -> EntitlementAnswer:
        try:
            return await rpc.call(self.nc, CHECK_ENTITLEMENT, query, EntitlementAnswer, timeout_s=self.timeout_s)
        except Unavailable as exc:
            raise EntitlementUnavailable(
                f"coverage cannot be checked right now ({exc.detail}); nothing was filed, "
                "send it again with the same Idempotency-Key",
                self.retry_after_s,
            ) from exc
