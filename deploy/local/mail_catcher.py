"""The local mail catcher `make run` starts: an SMTP server that keeps every message in a Maildir instead of
delivering it, and the pages under /mail/ on the gateway that show them (development only, like the sign-in).

The SMTP side is aiosmtpd's own Maildir handler; the pages read the Maildir with the standard library, so
nothing here parses SMTP or MIME by hand.

    python -m deploy.local.mail_catcher   (FIELDLINE_MAIL_CATCHER_PORT, default 1025; .run/mail/)
"""

from __future__ import annotations

import html
import mailbox
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from shared.settings import REPO_ROOT

__all__ = ["CaughtMail", "caught_mail", "mail_catcher_port", "mail_routes", "serve"]

DEFAULT_PORT = 1025
MAILDIR = REPO_ROOT / ".run" / "mail"
_LIST_LIMIT = 500

# A caught message is somebody's HTML: shown in a sandboxed frame with no scripts and nothing fetched.
_MESSAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


def mail_catcher_port(environ: Mapping[str, str] | None = None) -> int:
    env: Mapping[str, Any] = os.environ if environ is None else environ
    return int(env.get("FIELDLINE_MAIL_CATCHER_PORT", DEFAULT_PORT))


@dataclass(frozen=True)
class CaughtMail:
    key: str
    sender: str
    to: str
    subject: str
    received: datetime


def _parse(raw: mailbox.MaildirMessage) -> EmailMessage:
    from email import message_from_bytes

    parsed = message_from_bytes(raw.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _received(message: EmailMessage, raw: mailbox.MaildirMessage) -> datetime:
    """The message's Date, or when the catcher delivered it (notify leaves Date to the relaying server)."""
    try:
        if message["Date"]:
            dated = parsedate_to_datetime(str(message["Date"]))
            return dated if dated.tzinfo is not None else dated.replace(tzinfo=UTC)
    except (TypeError, ValueError):
        pass
    return datetime.fromtimestamp(raw.get_date(), tz=UTC)


def caught_mail(maildir: Path) -> list[CaughtMail]:
    """The caught messages, newest first (at most the latest 500)."""
    if not (maildir / "cur").is_dir() and not (maildir / "new").is_dir():
        return []
    box = mailbox.Maildir(maildir, create=False)
    found = []
    for key, raw in box.iteritems():
        message = _parse(raw)
        found.append(
            CaughtMail(
                key=key,
                sender=str(message["From"] or ""),
                to=str(message["To"] or ""),
                subject=str(message["Subject"] or "(no subject)"),
                received=_received(message, raw),
            )
        )
    found.sort(key=lambda m: m.received, reverse=True)
    return found[:_LIST_LIMIT]


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:15px system-ui,sans-serif;margin:1.5rem;color:#1b2430}}table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #dde3ea}}a{{color:#0b5cad}}
iframe{{width:100%;height:70vh;border:1px solid #dde3ea}}pre{{white-space:pre-wrap}}.meta{{color:#56606b}}</style>
</head><body>{body}</body></html>"""
    )


def mail_routes(maildir: Path = MAILDIR) -> list[Route]:
    """/mail/ lists the caught messages, /mail/{key} shows one, /mail/{key}/html is its HTML part alone."""

    def _message(key: str) -> EmailMessage | None:
        if not (maildir / "cur").is_dir() and not (maildir / "new").is_dir():
            return None
        try:
            raw = mailbox.Maildir(maildir, create=False)[key]
        except KeyError:
            return None
        return _parse(raw)

    def _not_found(key: str) -> Response:
        return JSONResponse(
            {"type": "about:blank", "title": "Not Found", "status": 404, "detail": f"no caught message {key!r}"},
            status_code=404,
            media_type="application/problem+json",
        )

    async def listing(request: Request) -> Response:
        messages = caught_mail(maildir)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                [
                    {
                        "key": m.key,
                        "from": m.sender,
                        "to": m.to,
                        "subject": m.subject,
                        "received": m.received.isoformat(),
                    }
                    for m in messages
                ]
            )
        rows = "".join(
            f"<tr><td>{html.escape(m.received.strftime('%d %b %H:%M UTC'))}</td>"
            f"<td>{html.escape(m.to)}</td>"
            f"<td><a href='/mail/{html.escape(m.key)}'>{html.escape(m.subject)}</a></td></tr>"
            for m in messages
        )
        empty = "<p>No e-mail yet. Assignment notices and survey invitations appear here as the day sends them.</p>"
        return _page(
            "Caught e-mail",
            "<h1>Caught e-mail</h1><p class=meta>Everything the services sent while running locally;"
            " nothing left this machine.</p>"
            + (f"<table><tr><th>Received</th><th>To</th><th>Subject</th></tr>{rows}</table>" if messages else empty),
        )

    async def one(request: Request) -> Response:
        key = request.path_params["key"]
        message = _message(key)
        if message is None:
            return _not_found(key)
        text = message.get_body(preferencelist=("plain",))
        has_html = message.get_body(preferencelist=("html",)) is not None
        shown = (
            f"<iframe sandbox src='/mail/{html.escape(key)}/html' title='message'></iframe>"
            if has_html
            else f"<pre>{html.escape(text.get_content() if text is not None else '')}</pre>"
        )
        return _page(
            str(message["Subject"] or "(no subject)"),
            f"<p><a href='/mail/'>&larr; all e-mail</a></p><h1>{html.escape(str(message['Subject'] or ''))}</h1>"
            f"<p class=meta>From {html.escape(str(message['From'] or ''))} to {html.escape(str(message['To'] or ''))}"
            f" · {html.escape(str(message['Date'] or ''))}</p>{shown}",
        )

    async def html_part(request: Request) -> Response:
        key = request.path_params["key"]
        message = _message(key)
        part = message.get_body(preferencelist=("html",)) if message is not None else None
        if part is None:
            return _not_found(key)
        return HTMLResponse(part.get_content(), headers={"content-security-policy": _MESSAGE_CSP})

    return [
        Route("/mail/", listing),
        Route("/mail/{key}/html", html_part),
        Route("/mail/{key}", one),
    ]


def serve(port: int, maildir: Path = MAILDIR, host: str = "127.0.0.1") -> Any:
    """Starts the SMTP side in its own thread; returns aiosmtpd's controller (``.stop()`` ends it)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    for sub in ("tmp", "new", "cur"):  # a Maildir; mailbox.Maildir only makes these when it makes the folder
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(maildir), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    controller = serve(mail_catcher_port())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
