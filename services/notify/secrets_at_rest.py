"""Webhook secrets at rest: Fernet tokens under the configured keys (MultiFernet: the first key encrypts, all decrypt).

The service and migration 0003 build the cipher the same way, from `Settings.webhook_secret_keys`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from services.notify.db.repository import NotifyRepository
from services.notify.settings import DEVELOPMENT_WEBHOOK_SECRET_KEY, Settings
from shared.db import Database
from shared.service import Runtime

log = logging.getLogger(__name__)


class SecretCipher:
    def __init__(self, keys: list[str]) -> None:
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(k) for k in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretCipher:
        return cls([k.get_secret_value() for k in settings.webhook_secret_keys])

    def encrypt(self, secret: str) -> str:
        return self._all.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The secret; `InvalidToken` when no configured key opened it (a key was dropped too early)."""
        return self._all.decrypt(token.encode()).decode()

    def under_primary_key(self, token: str) -> bool:
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, token: str) -> str:
        """The same secret under the first key (MultiFernet.rotate keeps the token's original timestamp)."""
        return self._all.rotate(token.encode()).decode()


def development_key_warning(settings: Settings) -> str | None:
    keys = [k.get_secret_value() for k in settings.webhook_secret_keys]
    if DEVELOPMENT_WEBHOOK_SECRET_KEY not in keys:
        return None
    use = "encrypts" if keys[0] == DEVELOPMENT_WEBHOOK_SECRET_KEY else "can decrypt"
    return (f"the public development key {use} webhook secrets at rest: set FIELDLINE_NOTIFY_WEBHOOK_SECRET_KEYS "
            "to your own Fernet key(s) outside development")


async def reencrypt_under_primary_key(db: Database, cipher: SecretCipher, batch_size: int = 200) -> int:
    """Move every stored secret that an older key encrypted to the first key; idempotent, safe on every replica.

    Rows none of the keys can open are left alone (and logged): their deliveries fail until the key is restored.
    """
    moved = 0
    after = None
    while True:
        async with db.transaction() as session:
            repo = NotifyRepository(session)
            rows = await repo.webhook_secrets_after(after, batch_size)
            for row in rows:
                changes: dict[str, str] = {}
                for column in ("secret", "previous_secret"):
                    token = row[column]
                    if token is None or cipher.under_primary_key(token):
                        continue
                    try:
                        changes[column] = cipher.reencrypt(token)
                    except InvalidToken:
                        log.error("webhook %s: its %s opens with none of the configured keys", row["id"], column)
                if changes:
                    await repo.replace_webhook_secrets(row["id"], changes)
                    moved += 1
        if len(rows) < batch_size:
            return moved
        after = rows[-1]["id"]


def secrets_at_rest(settings: Settings,
                    cipher: SecretCipher) -> Callable[[Runtime], AbstractAsyncContextManager[None]]:
    """Start-up hook: warn about the development key, then bring every stored secret under the first key."""

    @asynccontextmanager
    async def start(runtime: Runtime) -> AsyncIterator[None]:
        warning = development_key_warning(settings)
        if warning:
            log.warning(warning)
        moved = await reencrypt_under_primary_key(runtime.db, cipher)
        if moved:
            log.info("re-encrypted %s webhooks' secrets under the first key", moved)
        yield

    return start
