"""The contract's money terms on a request (issue 17): the penalty per hour late and the visit's value of its
priority, as contracts answered at filing; passed on to dispatch's planner. NULL: its defaults.

Revision ID: 0010_money_terms
Revises: 0009_site_territory
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_money_terms"
down_revision: str | None = "0009_site_territory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("service_requests", sa.Column("late_penalty_per_hour", sa.Float(), nullable=True), schema="requests")
    op.add_column("service_requests", sa.Column("visit_value", sa.Float(), nullable=True), schema="requests")


def downgrade() -> None:
    op.drop_column("service_requests", "visit_value", schema="requests")
    op.drop_column("service_requests", "late_penalty_per_hour", schema="requests")
