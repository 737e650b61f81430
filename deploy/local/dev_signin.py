"""Development sign-in for the web apps, served by the local gateway under /auth/dev/.

`python -m deploy.local.dev_signin` serves /auth/config and these routes alone (FIELDLINE_SIGNIN_HOST, default
127.0.0.1, and FIELDLINE_SIGNIN_PORT, 8005), for an origin whose web server is not the gateway: compose's nginx
(deploy/compose/web.conf).

Only when the services trust the development key pair (no JWKS URL configured, the private key in .run/keys):
then anyone who can reach the gateway could mint tokens with `make token` anyway. With an identity provider
configured these routes do not exist and the apps sign in with OpenID Connect (/auth/config says which).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.auth import Role, mint_token
from shared.settings import REPO_ROOT, ServiceSettings, load_settings

SIGNIN_PORT = 8005


@dataclass(frozen=True)
class DemoUser:
    subject: str
    name: str
    role: Role
    technician_id: str | None = None
    customer_id: str | None = None


def dev_mode(settings: ServiceSettings) -> bool:
    """The services verify tokens with the development public key, and its private half is here."""
    return not settings.jwt_jwks_url and settings.jwt_private_key_file.is_file()


def demo_users(demo_file: Path) -> list[DemoUser]:
    users = [
        DemoUser("demo-dispatcher", "Demo dispatcher", Role.DISPATCHER),
        DemoUser("demo-manager", "Demo contract manager", Role.CONTRACT_MANAGER),
        DemoUser("demo-admin", "Demo administrator", Role.ADMIN),
    ]
    if demo_file.is_file():  # written by `make run`'s seed
        demo = json.loads(demo_file.read_text())
        users.append(DemoUser("demo-customer", "Demo customer", Role.CUSTOMER, customer_id=demo["customer_id"]))
        for name, technician_id in demo.get("technician_ids", {}).items():
            subject = name.split()[0].lower()
            users.append(DemoUser(subject, name, Role.TECHNICIAN, technician_id=technician_id))
    return users


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": "Bad Request", "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def dev_signin_routes(settings: ServiceSettings, demo_file: Path) -> list[Route]:
    async def users(_request: Request) -> Response:
        return JSONResponse(
            [{"subject": u.subject, "name": u.name, "role": u.role.value} for u in demo_users(demo_file)]
        )

    async def token(request: Request) -> Response:
        body = await request.json()
        subject = body.get("subject") if isinstance(body, dict) else None
        user = next((u for u in demo_users(demo_file) if u.subject == subject), None)
        if user is None:
            return _problem(422, "subject: not a demo user")
        access_token = mint_token(
            settings.jwt_private_key_file.read_bytes(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            subject=user.subject,
            role=user.role,
            name=user.name,
            technician_id=uuid.UUID(user.technician_id) if user.technician_id else None,
            customer_id=uuid.UUID(user.customer_id) if user.customer_id else None,
        )
        return JSONResponse(
            {"access_token": access_token, "token_type": "Bearer", "name": user.name, "role": user.role.value},
            headers={"cache-control": "no-store"},
        )

    return [Route("/auth/dev/users", users), Route("/auth/dev/token", token, methods=["POST"])]


def auth_config_route(settings: ServiceSettings) -> Route:
    """What the apps sign in with: the development page, or OpenID Connect against the configured issuer."""

    async def config(_request: Request) -> Response:
        if dev_mode(settings):
            return JSONResponse({"mode": "dev"})
        return JSONResponse(
            {
                "mode": "oidc",
                "issuer": settings.jwt_issuer,
                "client_id": os.environ.get("FIELDLINE_WEB_OIDC_CLIENT_ID", "fieldline-web"),
            }
        )

    return Route("/auth/config", config)


def auth_routes(settings: ServiceSettings, demo_file: Path) -> list[Route]:
    """/auth/config, and the development sign-in while the development keys are in use."""
    routes = [auth_config_route(settings)]
    if dev_mode(settings):
        routes += dev_signin_routes(settings, demo_file)
    return routes


def main() -> None:
    import uvicorn

    settings = load_settings(ServiceSettings)
    app = Starlette(routes=auth_routes(settings, REPO_ROOT / ".run" / "demo.json"))
    host = os.environ.get("FIELDLINE_SIGNIN_HOST", "127.0.0.1")
    uvicorn.run(app, host=host, port=int(os.environ.get("FIELDLINE_SIGNIN_PORT", SIGNIN_PORT)), log_level="warning")


if __name__ == "__main__":
    main()
