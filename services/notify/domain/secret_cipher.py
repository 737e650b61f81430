"""Webhook secrets at rest: Fernet tokens under the configured keys (MultiFernet: the first key encrypts, all decrypt).

The service and migration 0003 build the cipher the same way, from `Settings.webhook_secret_keys`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from services.notify.settings import Settings


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
