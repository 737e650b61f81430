"""a technician's photo (the customer sees who is coming): where its bytes are in the attachment store

Revision ID: 0014_technician_photo
Revises: 0013_technician_phone
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_technician_photo"
down_revision: str | None = "0013_technician_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("technicians", sa.Column("photo_key", sa.Text(), nullable=True), schema="dispatch")
    op.add_column("technicians", sa.Column("photo_content_type", sa.Text(), nullable=True), schema="dispatch")


def downgrade() -> None:
    op.drop_column("technicians", "photo_content_type", schema="dispatch")
    op.drop_column("technicians", "photo_key", schema="dispatch")
