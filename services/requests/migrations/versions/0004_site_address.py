"""service_requests.site_address: the site's address as contracts gave it at filing

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
    op.add_column("service_requests", sa.Column("site_address", sa.Text(), nullable=True), schema="requests")


def downgrade() -> None:
    op.drop_column("service_requests", "site_address", schema="requests")
