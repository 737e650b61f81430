"""The local mail catcher: notify's own mailer sends to it over real SMTP, and the gateway's /mail/ pages show
what arrived (list, one message, its HTML part in a locked-down frame)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local.gateway import GatewayConfig, create_app
from deploy.local.mail_catcher import mail_routes, serve
from services.notify.adapters.mail import Mailer
from services.notify.settings import Settings
from tests.gateway.test_gateway import ServedApp
from tests.support.infra import free_port


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, maildir = free_port(), tmp_path / "mail"
    controller = serve(port, maildir)
    yield port, maildir
    controller.stop()


@pytest.fixture
def gateway(tmp_path: Path, catcher: tuple[int, Path]) -> Iterator[str]:
    config = GatewayConfig(upstreams={}, web_root=tmp_path / "web")
    with ServedApp(create_app(config, extra_routes=mail_routes(catcher[1]))) as served:
        yield served.url


async def _send(port: int, to: str, subject: str) -> None:
    mailer = Mailer(Settings(smtp_host="127.0.0.1", smtp_port=port))
    content = {
        "subject": subject,
        "text": "Technician Anna is on the way, ETA 11:40.",
        "html": "<p>Technician <b>Anna</b> is on the way, ETA 11:40.</p><script>alert(1)</script>",
    }
    result = await mailer.send(to, content, str(uuid.uuid4()))
    assert result.delivered, result.detail


async def test_what_notify_sends_is_listed_and_readable(catcher: tuple[int, Path], gateway: str) -> None:
    port, _ = catcher
    await _send(port, "service.cus-1-001@customers.example", "Technician assigned: Yalta cold room")
    await _send(port, "dispatch@fieldline.example", "SLA at risk: Kerch")
    async with httpx.AsyncClient(base_url=gateway) as client:
        listed = (await client.get("/mail/", headers={"accept": "application/json"})).json()
        assert {m["subject"] for m in listed} == {"Technician assigned: Yalta cold room", "SLA at risk: Kerch"}
        assigned = next(m for m in listed if m["to"] == "service.cus-1-001@customers.example")
        assert all(m["received"] for m in listed), "no Date header: the delivery time stands in"

        page = await client.get("/mail/")
        assert page.status_code == 200 and "Technician assigned: Yalta cold room" in page.text

        shown = await client.get(f"/mail/{assigned['key']}")
        assert shown.status_code == 200
        assert f"/mail/{assigned['key']}/html" in shown.text and "sandbox" in shown.text

        body = await client.get(f"/mail/{assigned['key']}/html")
        assert "<b>Anna</b>" in body.text
        # somebody's HTML runs nothing and fetches nothing
        assert "sandbox" in body.headers["content-security-policy"]
        assert "default-src 'none'" in body.headers["content-security-policy"]


async def test_an_unknown_message_is_a_problem_not_a_crash(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        empty = await client.get("/mail/")
        assert empty.status_code == 200 and "No e-mail yet" in empty.text
        missing = await client.get("/mail/no-such-key")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert "no-such-key" in missing.json()["detail"]
