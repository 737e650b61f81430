"""Authentication: bearer JWTs with roles, and ownership-aware principals."""

from shared.auth.dependencies import current_principal, require_roles
from shared.auth.keys import ensure_local_keypair
from shared.auth.ownership import ensure_customer_access, ensure_technician_access
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenVerifier, mint_token

__all__ = [
    "Principal",
    "Role",
    "TokenVerifier",
    "current_principal",
    "ensure_customer_access",
    "ensure_local_keypair",
    "ensure_technician_access",
    "mint_token",
    "require_roles",
]
