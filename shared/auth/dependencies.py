"""FastAPI dependencies: the caller's principal, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenVerifier
from shared.errors import Forbidden, Unauthorized


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    return await verifier.verify(token.strip())


def require_roles(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that authenticates and admits only `roles` (admin always passes)."""
    allowed = set(roles) | {Role.ADMIN}

    async def _dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return _dependency
