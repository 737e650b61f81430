"""What every service's OpenAPI document says beyond FastAPI's defaults: bearer security, who may call each
operation (`x-fieldline-roles`, read from its `require_roles` dependency), and the real error bodies
(application/problem+json, shared/http.py) for 401, 403 and 422.

The generated web clients (web/shared/src/api) and the authorisation matrix test (tests/fuzz) read these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import _get_api_route_for_openapi, get_openapi
from fastapi.routing import APIRoute

from shared.auth.dependencies import allowed_roles, current_principal
from shared.auth.principal import Role
from shared.http import PROBLEM_JSON

ROLES_EXTENSION = "x-fieldline-roles"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each invalid field and why",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}

_ANSWERS = {
    "401": "No valid bearer token",
    "403": "The caller's role may not do this",
    "422": "Invalid input: each field and the reason",
}


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route of `app` as the OpenAPI generator sees it (with its router's prefix and dependencies).
    FastAPI keeps included routers nested since 0.16x; its generator flattens them with these two helpers."""
    for context in routing.iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is not None:
            yield route


def route_access(route: APIRoute) -> tuple[bool, frozenset[Role] | None]:
    """Whether the route needs a bearer token, and the roles it admits (None: any signed-in caller)."""
    authenticated, roles = False, None
    for call in _calls(route.dependant):
        admitted = allowed_roles(call)
        if admitted is not None:
            authenticated = True
            roles = admitted if roles is None else roles & admitted
        elif call is current_principal:
            authenticated = True
    return authenticated, roles


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def describe(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with security, roles and problem bodies (built once, then cached)."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        authenticated, roles = route_access(route)
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem(_ANSWERS["422"])
            if authenticated:
                operation["security"] = [{"bearer": []}]
                responses["401"] = _problem(_ANSWERS["401"])
            if roles is not None:
                operation[ROLES_EXTENSION] = sorted(role.value for role in roles)
                responses["403"] = _problem(_ANSWERS["403"])
    # FastAPI's own validation-error schemas are no longer referenced
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = document
    return document


def install(app: FastAPI) -> None:
    app.openapi = lambda: describe(app)  # type: ignore[method-assign]
