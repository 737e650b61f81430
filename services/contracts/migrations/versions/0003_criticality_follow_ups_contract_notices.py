"""equipment criticality, follow-ups left out of quotas, what contract managers were told

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 00:05:40.146734
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contracts", sa.Column("ending_announced_for", sa.Date(), nullable=True), schema="contracts")
    op.add_column(
        "contracts",
        sa.Column("overdue_announced", sa.Integer(), server_default="0", nullable=False),
        schema="contracts",
    )
    op.add_column(
        "equipment", sa.Column("criticality", sa.Text(), server_default="normal", nullable=False), schema="contracts"
    )
    op.create_check_constraint(
        op.f("ck_equipment_criticality"),
        "equipment",
        "criticality IN ('critical', 'high', 'normal', 'low')",
        schema="contracts",
    )
    op.add_column("service_jobs", sa.Column("follow_up_of", sa.Uuid(), nullable=True), schema="contracts")


def downgrade() -> None:
    op.drop_column("service_jobs", "follow_up_of", schema="contracts")
    op.drop_constraint(op.f("ck_equipment_criticality"), "equipment", type_="check", schema="contracts")
    op.drop_column("equipment", "criticality", schema="contracts")
    op.drop_column("contracts", "overdue_announced", schema="contracts")
    op.drop_column("contracts", "ending_announced_for", schema="contracts")
