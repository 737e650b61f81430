"""Claim paths by setting (shared/auth/claims.py): Fieldline's flat claims by default, Keycloak's realm roles and
user attributes, a generic provider's namespaced claims and groups; what names no role or an unusable id is refused.
The tokens are real RS256 JWTs checked by the verifier `create_service_app` builds from the settings."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from shared.auth import Role
from shared.auth.claims import ClaimMapping, claim_at
from shared.auth.keys import ensure_local_keypair
from shared.errors import Unauthorized
from shared.service import make_verifier
from shared.settings import ServiceSettings, load_settings

ISSUER = "https://sso.example/realms/fieldline"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("claim-keys")
    private, public = directory / "private.pem", directory / "public.pem"
    ensure_local_keypair(private, public)
    return private, public


def _token(private: Path, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": "fieldline", "sub": "f:1a2b:anna", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, private.read_bytes(), algorithm="RS256")


def _settings(public: Path, **claim_settings: Any) -> ServiceSettings:
    return ServiceSettings(
        jwt_issuer=ISSUER,
        jwt_audience="fieldline",
        jwt_public_key_file=public,
        jwt_private_key_file=public.with_name("private.pem"),
        **claim_settings,
    )


# What Keycloak puts in an access token: realm roles (with its own defaults beside ours), a client's roles, and
# user attributes added by "User Attribute" mappers (a multivalued attribute arrives as a list).
def _keycloak(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "azp": "fieldline-console",
        "preferred_username": "anna",
        "name": "Anna Koval",
        "realm_access": {"roles": ["offline_access", "default-roles-fieldline", "uma_authorization"]},
        "resource_access": {"account": {"roles": ["manage-account"]}},
    }
    claims.update(overrides)
    return claims


KEYCLOAK = {
    "jwt_role_claim": "realm_access.roles",
    "jwt_role_map": {"fieldline-dispatcher": "dispatcher", "fieldline-technician": "technician"},
    "jwt_technician_id_claim": "fieldline.technician_id",
}


async def test_fieldlines_own_flat_claims_by_default(keys: tuple[Path, Path]) -> None:
    private, public = keys
    customer = uuid.uuid4()
    verifier = make_verifier(_settings(public))
    principal = await verifier.verify(_token(private, role="customer", customer_id=str(customer), name="Anna"))
    assert (principal.role, principal.customer_id, principal.name) == (Role.CUSTOMER, customer, "Anna")
    with pytest.raises(Unauthorized):  # a Keycloak token names no role where Fieldline's own settings look
        await verifier.verify(_token(private, **_keycloak()))


async def test_keycloak_realm_roles_and_a_nested_user_attribute(keys: tuple[Path, Path]) -> None:
    private, public = keys
    verifier = make_verifier(_settings(public, **KEYCLOAK))
    technician = uuid.uuid4()
    roles = ["offline_access", "fieldline-technician", "default-roles-fieldline"]
    principal = await verifier.verify(
        _token(
            private,
            **_keycloak(realm_access={"roles": roles}, fieldline={"technician_id": [str(technician)]}),
        )
    )
    assert (principal.role, principal.technician_id, principal.name) == (Role.TECHNICIAN, technician, "Anna Koval")
    assert principal.subject == "f:1a2b:anna"

    dispatcher = await verifier.verify(
        _token(private, **_keycloak(realm_access={"roles": ["fieldline-dispatcher", "offline_access"]}))
    )
    assert dispatcher.role is Role.DISPATCHER and dispatcher.is_staff
    # a technician without the attribute has no day to read: refused rather than let in without an id
    with pytest.raises(Unauthorized, match=r"fieldline\.technician_id"):
        await verifier.verify(_token(private, **_keycloak(realm_access={"roles": ["fieldline-technician"]})))
    with pytest.raises(Unauthorized, match="no Fieldline role"):
        await verifier.verify(_token(private, **_keycloak()))


async def test_keycloak_client_roles_under_resource_access(keys: tuple[Path, Path]) -> None:
    private, public = keys
    verifier = make_verifier(
        _settings(public, jwt_role_claim="resource_access.fieldline-api.roles", jwt_customer_id_claim="customer")
    )
    customer = uuid.uuid4()
    token = _token(
        private, **_keycloak(resource_access={"fieldline-api": {"roles": ["customer"]}}, customer=str(customer))
    )
    principal = await verifier.verify(token)
    assert (principal.role, principal.customer_id) == (Role.CUSTOMER, customer)


async def test_a_generic_provider_with_namespaced_claims_and_groups(keys: tuple[Path, Path]) -> None:
    private, public = keys
    namespace = "https://fieldline.example/"
    verifier = make_verifier(
        _settings(
            public,
            jwt_role_claim="groups",
            jwt_role_map={"Fieldline Managers": "contract_manager", "Fieldline Admins": "admin"},
            jwt_customer_id_claim=f"{namespace}customer_id",  # a claim whose own name has dots
            jwt_name_claim="nickname",
        )
    )
    manager = await verifier.verify(_token(private, groups=["Everyone", "Fieldline Managers"], nickname="Olga"))
    assert (manager.role, manager.name) == (Role.CONTRACT_MANAGER, "Olga")
    # composite roles name several: the widest is taken
    admin = await verifier.verify(_token(private, groups=["Fieldline Managers", "Fieldline Admins", "dispatcher"]))
    assert admin.role is Role.ADMIN
    customer = uuid.uuid4()
    mine = await verifier.verify(_token(private, groups=["customer"], **{f"{namespace}customer_id": str(customer)}))
    assert mine.customer_id == customer


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"role": ["customer"], "customer_id": [str(uuid.uuid4()), str(uuid.uuid4())]}, "2 values"),
        ({"role": "customer", "customer_id": "not-a-uuid"}, "customer_id"),
        ({"role": "customer", "customer_id": {"id": 1}}, "customer_id"),
        ({"role": "customer"}, "needs a customer_id"),
        ({"role": "root"}, "no Fieldline role"),
        ({"role": 7}, "no Fieldline role"),
        ({}, "no Fieldline role"),
    ],
)
def test_claims_that_name_no_usable_caller_are_refused(claims: dict[str, Any], why: str) -> None:
    with pytest.raises(Unauthorized, match=why):
        ClaimMapping().principal({"sub": "x", "exp": 2_000_000_000, **claims})


def test_a_path_reads_nested_objects_and_whole_names_first() -> None:
    claims = {"a": {"b": {"c": 1}}, "x.y": 2, "x": {"y": 3}, "list": [1]}
    assert claim_at(claims, "a.b.c") == 1
    assert claim_at(claims, "x.y") == 2  # the claim named "x.y" before the path x -> y
    assert claim_at(claims, "a.missing") is None and claim_at(claims, "list.0") is None and claim_at(claims, "") is None


def test_the_role_map_comes_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDLINE_JWT_ROLE_CLAIM", "realm_access.roles")
    monkeypatch.setenv("FIELDLINE_JWT_ROLE_MAP", '{"fieldline-dispatcher": "dispatcher"}')
    settings = load_settings(ServiceSettings)
    assert settings.jwt_role_claim == "realm_access.roles"
    assert settings.jwt_role_map == {"fieldline-dispatcher": Role.DISPATCHER}
    monkeypatch.setenv("FIELDLINE_JWT_ROLE_MAP", '{"x": "superuser"}')
    with pytest.raises(ValueError):  # a map to no Fieldline role stops the service at start
        load_settings(ServiceSettings)


@pytest.fixture
def k8s_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "deploy/k8s/config/config.yaml").read_text())
    return config


async def test_the_kubernetes_config_reads_keycloak_tokens(
    keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, k8s_config: dict[str, Any]
) -> None:
    """deploy/k8s/config/config.yaml's claim settings, as the services load them, against a Keycloak token."""
    config = k8s_config
    claim_settings = {k: v for k, v in config["data"].items() if k.startswith("FIELDLINE_JWT_") and "CLAIM" in k}
    claim_settings["FIELDLINE_JWT_ROLE_MAP"] = config["data"]["FIELDLINE_JWT_ROLE_MAP"]
    assert set(claim_settings) >= {"FIELDLINE_JWT_ROLE_CLAIM", "FIELDLINE_JWT_CUSTOMER_ID_CLAIM"}
    for name, value in claim_settings.items():
        monkeypatch.setenv(name, value)
    private, public = keys
    settings = load_settings(
        ServiceSettings,
        jwt_issuer=ISSUER,
        jwt_audience="fieldline",
        jwt_public_key_file=public,
        jwt_private_key_file=private,
    )
    customer = uuid.uuid4()
    token = _token(
        private,
        **_keycloak(
            realm_access={"roles": ["fieldline-customer", "offline_access"]}, fieldline={"customer_id": str(customer)}
        ),
    )
    principal = await make_verifier(settings).verify(token)
    assert (principal.role, principal.customer_id) == (Role.CUSTOMER, customer)
