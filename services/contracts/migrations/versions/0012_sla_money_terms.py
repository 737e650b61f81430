"""SLA terms' money (issue 17): per priority, the penalty per hour the arrival is late and what a visit is worth;
carried to dispatch, whose planner weighs lateness and dropped work by them. NULL: dispatch's defaults.

Revision ID: 0012_sla_money_terms
Revises: 0011_outbox_trace_context
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_sla_money_terms"
down_revision: str | None = "0011_outbox_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sla_terms", sa.Column("late_penalty_per_hour", sa.Numeric(12, 2), nullable=True), schema="contracts")
    op.add_column("sla_terms", sa.Column("visit_value", sa.Numeric(12, 2), nullable=True), schema="contracts")
    op.create_check_constraint(
        op.f("ck_sla_terms_money"), "sla_terms", "late_penalty_per_hour >= 0 AND visit_value >= 0", schema="contracts"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_sla_terms_money"), "sla_terms", type_="check", schema="contracts")
    op.drop_column("sla_terms", "visit_value", schema="contracts")
    op.drop_column("sla_terms", "late_penalty_per_hour", schema="contracts")
