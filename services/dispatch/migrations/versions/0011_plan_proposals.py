"""plan proposals: a re-plan the dispatcher reads before it is applied (issue 13)

Revision ID: 0011_plan_proposals
Revises: 0010_attachments
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011_plan_proposals"
down_revision: str | None = "0010_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_proposals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("based_on_version", sa.Integer()),
        sa.Column("change_budget", sa.Integer()),
        sa.Column("fingerprint", JSONB(), nullable=False),
        sa.Column("kept", JSONB(), nullable=False, server_default="[]"),
        sa.Column("plan", JSONB(), nullable=False),
        sa.Column("changes", JSONB(), nullable=False, server_default="[]"),
        sa.Column("unassigned", JSONB(), nullable=False, server_default="[]"),
        sa.Column("kpis", JSONB(), nullable=False, server_default="{}"),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision", sa.Text()),
        sa.Column("plan_version", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_proposals")),
        schema="dispatch",
    )
    op.create_index(op.f("ix_plan_proposals_day"), "plan_proposals", ["day"], schema="dispatch")


def downgrade() -> None:
    op.drop_table("plan_proposals", schema="dispatch")
