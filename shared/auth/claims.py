"""Where a verified token says who the caller is: the role and the customer / technician ids, by claim path.

Fieldline's own tokens (`mint_token`) carry flat claims: `role`, `customer_id`, `technician_id`, `name`. An
identity provider puts them where it likes: Keycloak's realm roles are a list at `realm_access.roles`, a client's
at `resource_access.<client>.roles`, others use `groups` or a namespaced claim (`https://fieldline.example/role`).
A path is a claim name, or dot-separated names into nested objects; a claim whose own name is the whole path
(namespaced URLs have dots) is taken first. A role claim may be one string or a list; provider role names map to
Fieldline's through `role_map` (names that already are Fieldline roles need no entry) and everything else in the
list is ignored (Keycloak adds `offline_access`, `default-roles-<realm>` ...). With several Fieldline roles the
widest is taken (admin, contract manager, dispatcher, then technician, customer): composite roles list them all.
docs/identity.md shows Keycloak and a generic OIDC provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.auth.principal import Principal, Role
from shared.errors import Unauthorized

__all__ = ["ClaimMapping", "claim_at"]

# the role a principal gets when its token names several Fieldline roles: the first of these it has
ROLE_PRECEDENCE = (Role.ADMIN, Role.CONTRACT_MANAGER, Role.DISPATCHER, Role.TECHNICIAN, Role.CUSTOMER)
_MISSING = object()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim at ``path`` (a name, or dot-separated names into nested objects); None when absent."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for name in path.split("."):
        value = value.get(name, _MISSING) if isinstance(value, Mapping) else _MISSING
        if value is _MISSING:
            return None
    return value


@dataclass(frozen=True)
class ClaimMapping:
    """The claim paths of one identity provider (settings `jwt_*_claim`, `jwt_role_map`); Fieldline's by default."""

    role: str = "role"
    customer_id: str = "customer_id"
    technician_id: str = "technician_id"
    name: str = "name"
    role_map: Mapping[str, Role] = field(default_factory=dict)

    def principal(self, claims: Mapping[str, Any]) -> Principal:
        """The caller a verified token's claims describe; Unauthorized when they name no role, or ids that are
        not UUIDs, or a customer or technician without their id."""
        role = self._role(claim_at(claims, self.role))
        customer_id = self._id(claims, self.customer_id)
        technician_id = self._id(claims, self.technician_id)
        if role is Role.CUSTOMER and customer_id is None:
            raise Unauthorized(f"a customer token needs a {self.customer_id} claim")
        if role is Role.TECHNICIAN and technician_id is None:
            raise Unauthorized(f"a technician token needs a {self.technician_id} claim")
        name = claim_at(claims, self.name)
        return Principal(
            subject=str(claims["sub"]),
            role=role,
            customer_id=customer_id,
            technician_id=technician_id,
            name=name if isinstance(name, str) else None,
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )

    def _role(self, value: Any) -> Role:
        names = value if isinstance(value, list) else [value]
        roles = {role for name in names if isinstance(name, str) and (role := self._fieldline_role(name)) is not None}
        for role in ROLE_PRECEDENCE:
            if role in roles:
                return role
        raise Unauthorized(f"invalid token claims: no Fieldline role at {self.role}")

    def _fieldline_role(self, name: str) -> Role | None:
        if name in self.role_map:
            return self.role_map[name]
        try:
            return Role(name)
        except ValueError:
            return None

    def _id(self, claims: Mapping[str, Any], path: str) -> uuid.UUID | None:
        value = claim_at(claims, path)
        if isinstance(value, list):  # a multivalued user attribute: one value is an id, more is ambiguous
            if len(value) > 1:
                raise Unauthorized(f"invalid token claims: {path} has {len(value)} values")
            value = value[0] if value else None
        if value is None or value == "":
            return None
        try:
            # str(): a number or an object in a well-signed token is refused, not a 500
            return uuid.UUID(str(value))
        except ValueError as exc:
            raise Unauthorized(f"invalid token claims: {path}: {exc}") from exc
