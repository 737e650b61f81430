"""request_assignments.technician_as_of: which booking or change named the technician (dispatch reassignments)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 23:50:00
"""

from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "request_assignments",
        sa.Column("technician_as_of", sa.DateTime(timezone=True), nullable=True),
        schema="requests",
    )


def downgrade() -> None:
    op.drop_column("request_assignments", "technician_as_of", schema="requests")
