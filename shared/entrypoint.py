"""`python -m services.<name> [serve|migrate]`: migrate the schema, then serve with uvicorn."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.migrations import migrate
from shared.settings import ServiceSettings, load_settings


def run_service(
    service: str,
    settings_cls: type[ServiceSettings],
    create_app: Callable[[ServiceSettings], FastAPI],
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    parser.add_argument("--no-migrate", action="store_true", help="serve without migrating first")
    args = parser.parse_args(argv)
    settings = load_settings(settings_cls)
    if args.command == "migrate" or not args.no_migrate:
        migrate(settings, service)
    if args.command == "serve":
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,  # one access line per request comes from shared.observability's middleware
            timeout_graceful_shutdown=max(1, round(settings.shutdown_drain_s)),
        )
