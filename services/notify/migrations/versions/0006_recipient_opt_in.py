"""recipients: double opt-in (confirmed_at, confirmation_token_hash); recipients so far count as confirmed

Revision ID: 0006_recipient_opt_in
Revises: 0005_rate_limits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_recipient_opt_in"
down_revision: str | None = "0005_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("recipients", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True), schema="notify")
    op.add_column("recipients", sa.Column("confirmation_token_hash", sa.Text(), nullable=True), schema="notify")
    op.execute("UPDATE notify.recipients SET confirmed_at = created_at")
    op.create_index(
        "ix_recipients_confirmation_token_hash",
        "recipients",
        ["confirmation_token_hash"],
        unique=True,
        schema="notify",
    )


def downgrade() -> None:
    op.drop_index("ix_recipients_confirmation_token_hash", table_name="recipients", schema="notify")
    op.drop_column("recipients", "confirmation_token_hash", schema="notify")
    op.drop_column("recipients", "confirmed_at", schema="notify")
