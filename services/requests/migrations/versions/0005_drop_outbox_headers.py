"""outbox.headers dropped: never written or read (the relay derives the NATS headers from the payload)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from shared.messaging.migration_ops import add_outbox_headers, drop_outbox_headers

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_outbox_headers("requests")


def downgrade() -> None:
    add_outbox_headers("requests")
