"""Double opt-in for the addresses a customer adds: nothing but the confirmation is sent before it is confirmed.

The confirmation has fixed wording (no text from the customer who added the address) and a single-use link."""

from __future__ import annotations

import hashlib
import secrets

_WORDING = {
    "en": (
        "Confirm your e-mail address for Fieldline notifications",
        "Someone asked for this address to receive service notifications from Fieldline.\n"
        "To receive them, confirm here: {link}\n"
        "If this was not you, ignore this message: nothing else will be sent to this address.",
    ),
    "ru": (
        "Подтвердите адрес для уведомлений Fieldline",
        "Этот адрес указали для получения сервисных уведомлений Fieldline.\n"
        "Чтобы получать их, подтвердите по ссылке: {link}\n"
        "Если это были не вы, просто проигнорируйте письмо: больше ничего на этот адрес не придёт.",
    ),
}


def new_confirmation_token() -> tuple[str, str]:
    """A token for the link and the hash stored in its place (the link is the only copy of the token)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def confirmation_message(language: str, link: str) -> dict[str, str]:
    subject, body = _WORDING.get(language, _WORDING["en"])
    text = body.format(link=link)
    html = "".join(f"<p>{line}</p>" for line in body.split("\n")).format(link=f'<a href="{link}">{link}</a>')
    return {"subject": subject, "text": text, "html": html}
