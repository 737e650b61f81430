"""webhook secrets encrypted at rest (Fernet, the service's configured keys); rotation with a previous secret

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 02:40:00

Existing plaintext secrets are encrypted here with the first of `webhook_secret_keys` of the settings the
migration runs with (the notify settings, read as the service reads them). Downgrading decrypts them again and
forgets any previous secret still in its grace period.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

from services.notify.domain.secret_cipher import SecretCipher
from services.notify.settings import Settings
from shared.settings import load_settings

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_webhooks = sa.table("webhooks", sa.column("id", sa.Uuid()), sa.column("secret", sa.Text()), schema="notify")


def _cipher() -> SecretCipher:
    settings = context.config.attributes.get("settings")
    if not isinstance(settings, Settings):  # run outside the service's own `migrate`
        settings = load_settings(Settings)
    return SecretCipher.from_settings(settings)


def _rewrite_secrets(change: Callable[[str], str]) -> None:
    bind = op.get_bind()
    for webhook_id, secret in bind.execute(sa.select(_webhooks.c.id, _webhooks.c.secret)).all():
        bind.execute(sa.update(_webhooks).where(_webhooks.c.id == webhook_id).values(secret=change(secret)))


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("previous_secret", sa.Text(), nullable=True), schema="notify")
    op.add_column(
        "webhooks", sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True), schema="notify"
    )
    op.add_column(
        "webhooks", sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True), schema="notify"
    )
    op.create_check_constraint(
        op.f("ck_webhooks_previous_secret_expiry"),
        "webhooks",
        "(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)",
        schema="notify",
    )
    _rewrite_secrets(_cipher().encrypt)


def downgrade() -> None:
    _rewrite_secrets(_cipher().decrypt)
    op.drop_constraint(op.f("ck_webhooks_previous_secret_expiry"), "webhooks", schema="notify", type_="check")
    op.drop_column("webhooks", "secret_rotated_at", schema="notify")
    op.drop_column("webhooks", "previous_secret_expires_at", schema="notify")
    op.drop_column("webhooks", "previous_secret", schema="notify")
