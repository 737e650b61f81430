"""The real stack for the browser tests: the four services as processes, the gateway in front of them with
the built console, and Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from deploy.local.dev_signin import auth_config_route, dev_signin_routes
from deploy.local.gateway import GatewayConfig, create_app
from shared.settings import ServiceSettings
from tests.conftest import Keys
from tests.gateway.test_gateway import ServedApp
from tests.support import fixtures
from tests.support.infra import REPO_ROOT, NatsServer, Stack, start_stack

nats_server = fixtures.nats_server
database_url = fixtures.database_url

CHROMIUM = "/usr/bin/chromium"
# What a user waits for (a live update, a re-plan's answer) can take several seconds on the loaded two-core
# machine while the planner thinks: expectations wait up to 20 s (Playwright's default is 5 s); a page action 15 s.
expect.set_options(timeout=20_000)
ARTEFACTS = REPO_ROOT / ".run" / "artefacts" / "browser"
DOCS = REPO_ROOT / "docs"


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """A picture of what the user sees, into .run/artefacts/browser/; with FIELDLINE_DOCS_SCREENSHOTS=1
    (`make screenshots`) also into docs/, where the README shows it. A plain test run leaves the tree clean."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / name), full_page=full_page)
    if os.environ.get("FIELDLINE_DOCS_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=full_page)


@pytest.fixture(scope="package")
def stack(
    database_url: str, nats_server: NatsServer, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    # the planner gets a second per run (the stack's day starts at 10:15, so a re-plan has a whole day to plan and
    # would otherwise think for its default time while the page waits); one demo dispatcher signs in on a page
    # per test, and streams of closed pages may count against the per-principal cap for a moment
    running = start_stack(
        database_url,
        nats_server.url,
        keys.private.parent,
        tmp_path_factory.mktemp("logs"),
        extra_env={"FIELDLINE_DISPATCH_PLANNER_TIME_LIMIT_S": "1", "FIELDLINE_NOTIFY_SSE_MAX_PER_PRINCIPAL": "100"},
    )
    yield running
    running.stop()


@pytest.fixture(scope="package")
def gateway(stack: Stack, keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    subprocess.run([str(REPO_ROOT / "deploy" / "local" / "web.sh")], check=True, env=env)  # builds if sources changed
    settings = ServiceSettings(jwt_private_key_file=keys.private, jwt_public_key_file=keys.public)
    routes = [auth_config_route(settings), *dev_signin_routes(settings, tmp_path_factory.mktemp("demo") / "demo.json")]
    config = GatewayConfig(upstreams={name: s.url for name, s in stack.services.items()}, web_root=REPO_ROOT / "web")
    with ServedApp(create_app(config, extra_routes=routes)) as served:
        yield served.url


@pytest.fixture(scope="package")
def playwright(gateway: str) -> Iterator[Playwright]:
    # After the stack: Playwright's sync API keeps an event loop running, and the async fixtures need none.
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: deploy/local/web.sh installs Debian's chromium")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(ARTEFACTS / f"{request.node.name}.png"))
    context.close()
