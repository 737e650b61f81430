"""E-mail over SMTP: plain text and HTML as multipart/alternative."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import aiosmtplib

from services.notify.domain.delivery import SendResult
from services.notify.settings import Settings


def build_message(sender: str, to: str, content: dict[str, Any], delivery_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = content["subject"]
    # the same Message-ID on every attempt lets mail systems drop a copy re-sent after a crash
    message["Message-ID"] = f"<{delivery_id}@fieldline.notify>"
    message["Fieldline-Delivery"] = delivery_id
    message.set_content(content["text"])
    message.add_alternative(content["html"], subtype="html")
    return message


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: str, content: dict[str, Any], delivery_id: str) -> SendResult:
        s = self.settings
        message = build_message(s.mail_from, to, content, delivery_id)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_start_tls,
                use_tls=s.smtp_use_tls,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return SendResult(False, True, f"recipient refused: {exc}")
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx replies are permanent (bad address, rejected); 4xx are worth another try
            return SendResult(False, exc.code >= 500, f"SMTP {exc.code}: {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(False, False, f"SMTP unavailable: {exc or type(exc).__name__}")
        return SendResult(True, False, "accepted by the SMTP server")
