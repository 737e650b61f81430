"""sites.contact_name/contact_phone: whom a technician calls on site

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
    op.add_column("sites", sa.Column("contact_name", sa.Text(), nullable=True), schema="contracts")
    op.add_column("sites", sa.Column("contact_phone", sa.Text(), nullable=True), schema="contracts")


def downgrade() -> None:
    op.drop_column("sites", "contact_phone", schema="contracts")
    op.drop_column("sites", "contact_name", schema="contracts")
