"""jobs.contact_name/contact_phone: whom the technician asks for on site; technicians.break_ends_at

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("contact_name", sa.Text(), server_default="", nullable=False), schema="dispatch")
    op.add_column("jobs", sa.Column("contact_phone", sa.Text(), server_default="", nullable=False), schema="dispatch")
    op.add_column(
        "technicians", sa.Column("break_ends_at", sa.DateTime(timezone=True), nullable=True), schema="dispatch"
    )


def downgrade() -> None:
    op.drop_column("technicians", "break_ends_at", schema="dispatch")
    op.drop_column("jobs", "contact_phone", schema="dispatch")
    op.drop_column("jobs", "contact_name", schema="dispatch")
