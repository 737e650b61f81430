"""service_requests.site_territory_id: the site's service territory as contracts gave it at filing (issue 17); the
request's created event carries it to dispatch, which prefers that territory's technicians

Revision ID: 0009_site_territory
Revises: 0008_outbox_trace_context
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_site_territory"
down_revision: str | None = "0008_outbox_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("service_requests", sa.Column("site_territory_id", sa.Uuid(), nullable=True), schema="requests")


def downgrade() -> None:
    op.drop_column("service_requests", "site_territory_id", schema="requests")
