"""a technician's work phone, for the dispatcher's job detail (issue 13)

Revision ID: 0013_technician_phone
Revises: 0012_booked_at
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_technician_phone"
down_revision: str | None = "0012_booked_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("technicians", sa.Column("phone", sa.Text(), nullable=False, server_default=""), schema="dispatch")


def downgrade() -> None:
    op.drop_column("technicians", "phone", schema="dispatch")
