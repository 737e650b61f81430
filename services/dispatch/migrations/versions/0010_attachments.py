"""attachments of visit reports (photos, signatures) and the default store's bytes; position pings keep the
server's receipt time beside the device's (issue 14)

Revision ID: 0010_attachments
Revises: 0009_rate_limits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_attachments"
down_revision: str | None = "0009_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("technician_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("store", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        schema="dispatch",
    )
    op.create_index(op.f("ix_attachments_assignment_id"), "attachments", ["assignment_id"], schema="dispatch")
    op.create_index(op.f("ix_attachments_request_id"), "attachments", ["request_id"], schema="dispatch")
    op.create_table(
        "attachment_blobs",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attachment_blobs")),
        schema="dispatch",
    )
    op.add_column("position_pings", sa.Column("received_at", sa.DateTime(timezone=True)), schema="dispatch")


def downgrade() -> None:
    op.drop_column("position_pings", "received_at", schema="dispatch")
    op.drop_table("attachment_blobs", schema="dispatch")
    op.drop_table("attachments", schema="dispatch")
