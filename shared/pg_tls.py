"""libpq's TLS parameters in a database URL (`?sslmode=require`, `sslrootcert=...`) turned into asyncpg's `ssl`.

SQLAlchemy hands every query parameter of an asyncpg URL to `asyncpg.connect()` as a keyword, and asyncpg has no
`sslmode` keyword (`connect() got an unexpected keyword argument 'sslmode'`). So the parameters are taken out of
the URL and become one `ssl` connect argument, with libpq's meaning of each mode:

- `disable`: no TLS. `allow`, `prefer`: left to asyncpg, which knows these two modes by name.
- `require`: TLS, but the server is NOT verified (neither its certificate chain nor its name), as in libpq
  without a root certificate. Unlike libpq, an `sslrootcert` does not quietly turn `require` into `verify-ca`:
  say `verify-ca` or `verify-full`. Use `require` only where the network is trusted.
- `verify-ca`: TLS; the chain is verified against `sslrootcert` (or the system's CAs), the name is not.
- `verify-full`: TLS; the chain and the host name are verified (`sslrootcert=system` or unset: system CAs).
- `sslcert`/`sslkey`/`sslpassword`: a client certificate. `sslcrl`: a revocation list checked for the leaf.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

LIBPQ_TLS_PARAMS = frozenset({"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl"})
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def split_tls_params(url: str) -> tuple[str, dict[str, str]]:
    """The URL without libpq's TLS parameters, and those parameters."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    tls = {k: v for k, v in query if k in LIBPQ_TLS_PARAMS}
    if not tls:
        return url, tls
    rest = [(k, v) for k, v in query if k not in LIBPQ_TLS_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(rest, quote_via=quote))), tls


def asyncpg_ssl(params: dict[str, str]) -> ssl.SSLContext | bool | str | None:
    """asyncpg's `ssl` argument for libpq's parameters; None when the URL says nothing about TLS."""
    mode = params.get("sslmode")
    if mode is None and not params:
        return None
    mode = mode or "prefer"
    if mode not in SSL_MODES:
        raise ValueError(f"sslmode={mode!r} is not one of {', '.join(SSL_MODES)}")
    if mode == "disable":
        return False
    if mode in ("allow", "prefer") and "sslcert" not in params:
        return mode
    root = params.get("sslrootcert")
    context = ssl.create_default_context(cafile=None if root in (None, "", "system") else root)
    if mode in ("allow", "prefer", "require"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif mode == "verify-ca":
        context.check_hostname = False
    if params.get("sslcrl"):
        context.load_verify_locations(params["sslcrl"])
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if params.get("sslcert"):
        context.load_cert_chain(params["sslcert"], params.get("sslkey"), params.get("sslpassword"))
    return context


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """`connect_args` for SQLAlchemy's asyncpg engine: `{"ssl": ...}` when the URL asks for TLS, else empty."""
    tls = asyncpg_ssl(split_tls_params(url)[1])
    return {} if tls is None else {"ssl": tls}
