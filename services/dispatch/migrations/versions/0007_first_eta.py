"""assignments.first_eta: the arrival first promised to the customer (re-plans keep to it); plan_failures: days
the planner could not plan, as dispatcher alerts until the day plans again

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("assignments", sa.Column("first_eta", sa.DateTime(timezone=True), nullable=True), schema="dispatch")
    op.execute("UPDATE dispatch.assignments SET first_eta = eta")  # null only where a writer left it out: eta then
    op.create_table(
        "plan_failures",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_plan_failures")),
        schema="dispatch",
    )


def downgrade() -> None:
    op.drop_table("plan_failures", schema="dispatch")
    op.drop_column("assignments", "first_eta", schema="dispatch")
