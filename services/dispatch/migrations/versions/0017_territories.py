"""Territories (issue 17): technicians belong to territories by id (technicians.territory_ids), a job knows its
site's territory (jobs.territory_id, from the request's or visit's event), and the dispatcher's crossing policy
(allow at a cost per visit, or forbid) is one row every replica reads (territory_policy)

Revision ID: 0017_territories
Revises: 0016_job_windows
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_territories"
down_revision: str | None = "0016_job_windows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "technicians",
        sa.Column("territory_ids", postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        schema="dispatch",
    )
    op.add_column("jobs", sa.Column("territory_id", sa.Uuid(), nullable=True), schema="dispatch")
    op.create_table(
        "territory_policy",
        sa.Column("id", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("crossing", sa.Text(), nullable=False),
        sa.Column("crossing_cost_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_territory_policy_one_row")),
        sa.CheckConstraint("crossing IN ('allow', 'forbid')", name=op.f("ck_territory_policy_crossing")),
        sa.CheckConstraint("crossing_cost_minutes >= 0", name=op.f("ck_territory_policy_cost")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_policy")),
        schema="dispatch",
    )


def downgrade() -> None:
    op.drop_table("territory_policy", schema="dispatch")
    op.drop_column("jobs", "territory_id", schema="dispatch")
    op.drop_column("technicians", "territory_ids", schema="dispatch")
