"""stream_messages: an index on created_at, for pruning messages older than the retention

Revision ID: 0007_stream_messages_created_at
Revises: 0006_recipient_opt_in
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_stream_messages_created_at"
down_revision: str | None = "0006_recipient_opt_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_stream_messages_created_at", "stream_messages", ["created_at"], schema="notify")


def downgrade() -> None:
    op.drop_index("ix_stream_messages_created_at", table_name="stream_messages", schema="notify")
