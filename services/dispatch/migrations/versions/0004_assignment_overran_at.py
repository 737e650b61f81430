"""assignments.overran_at: when an overrunning job last made its technician's day be re-planned

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("assignments", sa.Column("overran_at", sa.DateTime(timezone=True), nullable=True), schema="dispatch")


def downgrade() -> None:
    op.drop_column("assignments", "overran_at", schema="dispatch")
