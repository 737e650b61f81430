"""Signed webhook deliveries behind the SSRF guard.

The name is resolved once per hop through an injectable resolver; every address must pass the rules in
`domain/addresses.py`; the connection is then made to the checked address (httpcore's network backend
is the seam) while the URL, the Host header and TLS SNI/certificate checks keep the original name.
Redirects are followed by hand, each hop checked the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urljoin

import certifi
import httpcore

from services.notify.domain.addresses import (
    AllowList,
    IPAddress,
    UnsafeTarget,
    WebhookTarget,
    check_address,
    literal_address,
    parse_target,
)
from services.notify.domain.delivery import SendResult
from services.notify.domain.signing import SIGNATURE_HEADER, signature_header, standard_webhook_headers
from shared.clock import Clock

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

_REDIRECTS = {301, 302, 303, 307, 308}
_RESPONSE_LIMIT = 64 * 1024


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the one address that was checked, whatever name the request carries."""

    def __init__(self, host: str, address: IPAddress) -> None:
        self._host = host
        self._address = str(address)
        self._inner = httpcore.AnyIOBackend()

    # the signatures are httpcore's interface, timeout parameters included
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.strip("[]") != self._host:
            raise httpcore.ConnectError(f"refusing to connect to {host}: only {self._host} was checked")
        return await self._inner.connect_tcp(
            self._address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class WebhookSender:
    def __init__(
        self,
        allow: AllowList,
        *,
        timeout_s: float = 10.0,
        max_redirects: int = 3,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock,
    ) -> None:
        self.allow = allow
        self.clock = clock
        self.timeout_s = timeout_s
        self.max_redirects = max_redirects
        self.resolver = resolver
        self.ssl_context = ssl_context or ssl.create_default_context(cafile=certifi.where())

    async def pinned_address(self, target: WebhookTarget) -> IPAddress:
        """Resolve once and check every answer: one forbidden answer refuses the name (rebinding tricks)."""
        literal = literal_address(target.host)
        try:
            addresses = [literal] if literal is not None else await self.resolver(target.host, target.port)
        except OSError as exc:
            raise ConnectionError(f"cannot resolve {target.host}: {exc}") from exc
        if not addresses:
            raise ConnectionError(f"{target.host} has no addresses")
        for address in addresses:
            check_address(target, address, self.allow)
        return addresses[0]

    async def deliver(
        self, url: str, signing_secrets: Sequence[str], body: dict[str, Any], delivery_id: str
    ) -> SendResult:
        """POST the body signed with each secret (current first); follow redirects by hand, re-checking each;
        2xx is delivered."""
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        now = self.clock.unix()
        standard = standard_webhook_headers(signing_secrets, delivery_id, now, raw)
        headers = [
            (b"Content-Type", b"application/json"),
            (b"User-Agent", b"Fieldline-Webhooks/1"),
            (b"Fieldline-Delivery", delivery_id.encode()),
            (SIGNATURE_HEADER.encode(), signature_header(signing_secrets, now, raw).encode()),
            *((name.encode(), value.encode()) for name, value in standard.items()),
        ]
        try:
            for _hop in range(self.max_redirects + 1):
                target = parse_target(url)
                address = await self.pinned_address(target)
                status, location = await self._post(target, address, headers, raw)
                if status in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                if 200 <= status < 300:
                    return SendResult(True, False, f"HTTP {status}")
                return SendResult(False, status == 410, f"HTTP {status}")
            return SendResult(False, True, f"more than {self.max_redirects} redirects")
        except UnsafeTarget as exc:
            return SendResult(False, True, f"refused: {exc}")
        except (httpcore.TimeoutException, TimeoutError) as exc:
            return SendResult(False, False, f"timed out: {type(exc).__name__}")
        except (httpcore.NetworkError, httpcore.ProtocolError, ConnectionError, OSError) as exc:
            return SendResult(False, False, f"connection failed: {exc or type(exc).__name__}")

    async def _post(
        self, target: WebhookTarget, address: IPAddress, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, str | None]:
        timeout = {"connect": self.timeout_s, "read": self.timeout_s, "write": self.timeout_s, "pool": self.timeout_s}
        async with httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context,
            retries=0,
            max_connections=1,
            network_backend=_PinnedBackend(target.host, address),
        ) as pool:
            async with (
                asyncio.timeout(self.timeout_s * 2),
                pool.stream(
                    "POST", target.url, headers=headers, content=body, extensions={"timeout": timeout}
                ) as response,
            ):
                read = 0
                async for chunk in response.aiter_stream():  # drain a little, never a flood
                    read += len(chunk)
                    if read > _RESPONSE_LIMIT:
                        break
                location = next((v.decode("latin-1") for k, v in response.headers if k.lower() == b"location"), None)
                return response.status, location
