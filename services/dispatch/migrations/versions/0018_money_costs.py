"""The planner's money terms (issue 17): per technician a daily driving limit and an overtime rate; per job the
contract's penalty per hour late and the visit's value. NULL: no limit / the planner's defaults.

Revision ID: 0018_money_costs
Revises: 0017_territories
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_money_costs"
down_revision: str | None = "0017_territories"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("technicians", sa.Column("max_travel_minutes", sa.Integer(), nullable=True), schema="dispatch")
    op.add_column("technicians", sa.Column("overtime_cost_per_hour", sa.Double(), nullable=True), schema="dispatch")
    op.add_column("jobs", sa.Column("late_penalty_per_hour", sa.Double(), nullable=True), schema="dispatch")
    op.add_column("jobs", sa.Column("visit_value", sa.Double(), nullable=True), schema="dispatch")


def downgrade() -> None:
    op.drop_column("jobs", "visit_value", schema="dispatch")
    op.drop_column("jobs", "late_penalty_per_hour", schema="dispatch")
    op.drop_column("technicians", "overtime_cost_per_hour", schema="dispatch")
    op.drop_column("technicians", "max_travel_minutes", schema="dispatch")
