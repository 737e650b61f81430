"""outbox.headers dropped: never written or read (the relay derives the NATS headers from the payload)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from shared.messaging.migration_ops import add_outbox_headers, drop_outbox_headers

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_outbox_headers("notify")


def downgrade() -> None:
    add_outbox_headers("notify")
