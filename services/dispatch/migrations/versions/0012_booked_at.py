"""when each booking was made, on the service's clock: a device's step may not claim a time before it (issue 16)

Revision ID: 0012_booked_at
Revises: 0011_plan_proposals
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_booked_at"
down_revision: str | None = "0011_plan_proposals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("assignments", sa.Column("booked_at", sa.DateTime(timezone=True)), schema="dispatch")


def downgrade() -> None:
    op.drop_column("assignments", "booked_at", schema="dispatch")
