"""FastAPI dependencies: the caller's principal, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenVerifier
from shared.errors import Forbidden, Unauthorized


async def current_principal(request: Request) -> Principal:
    """The verified caller (verified once per request: every dependency that asks gets the same principal)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    principal = await verifier.verify(token.strip())
    request.state.principal = principal
    return principal


async def optional_principal(request: Request) -> Principal | None:
    """The caller if the request carries a valid bearer token, else None (the route's own check answers 401)."""
    if not request.headers.get("authorization"):
        return None
    try:
        return await current_principal(request)
    except Unauthorized:
        return None


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates and admits only `roles` (admin always passes)."""
    allowed = set(roles) | {Role.ADMIN}

    async def _dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    _dependency.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]  # read by shared/openapi.py
    return _dependency


def allowed_roles(dependency: object) -> frozenset[Role] | None:
    """The roles a `require_roles` dependency admits; None for any other callable."""
    roles: frozenset[Role] | None = getattr(dependency, "allowed_roles", None)
    return roles
