"""request_photos and attachment_blobs: customers' photos of what is wrong, added when filing

Revision ID: 0007_request_photos
Revises: 0006_rate_limits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_request_photos"
down_revision: str | None = "0006_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment_blobs",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_attachment_blobs")),
        schema="requests",
    )
    op.create_table(
        "request_photos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("store", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_photos")),
        schema="requests",
    )
    op.create_index(
        op.f("ix_request_photos_request_id"), "request_photos", ["request_id"], unique=False, schema="requests"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_request_photos_request_id"), table_name="request_photos", schema="requests")
    op.drop_table("request_photos", schema="requests")
    op.drop_table("attachment_blobs", schema="requests")
