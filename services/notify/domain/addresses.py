"""Where a webhook may be sent (SSRF guard): https to public addresses only, unless allow-listed for development.

The rules here are pure; the sender resolves the name once, checks every address with `refusal`, connects
to the checked address, and runs the same checks again for every redirect.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """A webhook URL or address that notify refuses to send to; the message says why."""


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str  # lower case, without brackets
    port: int


@dataclass(frozen=True)
class AllowList:
    """`ip:port` pairs ("127.0.0.1:8080", "[::1]:8080") that may be reached over http or on a non-public address."""

    entries: frozenset[tuple[IPAddress, int]] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        parsed: set[tuple[IPAddress, int]] = set()
        for entry in entries:
            host, sep, port = entry.strip().rpartition(":")
            if not sep or not port.isdigit():
                raise ValueError(f"allow-list entry {entry!r} is not ip:port")
            parsed.add((ipaddress.ip_address(host.strip("[]")), int(port)))
        return cls(frozenset(parsed))

    def permits(self, address: IPAddress, port: int) -> bool:
        return (address, port) in self.entries

    def __bool__(self) -> bool:
        return bool(self.entries)


def parse_target(url: str) -> WebhookTarget:
    """Split and sanity-check a webhook URL; says nothing yet about where its name points."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise UnsafeTarget("only https URLs are accepted")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not accepted")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeTarget("the URL has no host")
    return WebhookTarget(
        url=url.strip(), scheme=parts.scheme, host=host, port=port or (443 if parts.scheme == "https" else 80)
    )


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, including the legacy IPv4 forms resolvers accept
    (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part[2:], 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
        if numbers[-1] < 0:
            return None
    # inet_aton: every part but the last is one byte; the last fills the remaining bytes
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = 0
    for n in leading:
        value = value * 256 + n
    value = value * 256 ** (4 - len(leading)) + last
    return ipaddress.IPv4Address(value)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not receive webhooks (None when it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal(embedded)
            return f"{reason} (embedded in {address})" if reason else None
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "shared (CGNAT)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not public"),
    )
    for failed, name in checks:
        if failed:
            return f"{address} is a {name} address"
    return None


def check_address(target: WebhookTarget, address: IPAddress, allow: AllowList) -> None:
    """Refuse to connect to `address` for `target` unless it is public (and https), or allow-listed."""
    if allow.permits(address, target.port):
        return
    reason = refusal(address)
    if reason:
        raise UnsafeTarget(f"{target.host} resolves to a forbidden address: {reason}")
    if target.scheme != "https":
        raise UnsafeTarget("only https URLs are accepted")


def check_registration(url: str, allow: AllowList) -> WebhookTarget:
    """What can be known before resolving: the scheme, and addresses written into the URL."""
    target = parse_target(url)
    if target.scheme != "https" and not allow:
        raise UnsafeTarget("only https URLs are accepted")
    address = literal_address(target.host)
    if address is not None:
        check_address(target, address, allow)
    return target
