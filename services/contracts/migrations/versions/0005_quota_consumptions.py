"""quota_consumptions: quota is reserved per request, one count for entitlement answers and health

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quota_consumptions",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("request_kind", sa.Text(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("within_quota", sa.Boolean(), nullable=True),
        sa.Column("quota_left", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_quota_consumptions")),
        schema="contracts",
    )
    op.create_index(
        "ix_quota_consumptions_contract_id_request_kind_counted_at",
        "quota_consumptions",
        ["contract_id", "request_kind", "counted_at"],
        unique=False,
        schema="contracts",
    )
    # what was counted until now: the requests filed under a contract, follow-ups left out
    op.execute("""
        INSERT INTO contracts.quota_consumptions (request_id, contract_id, request_kind, counted_at, released_at)
        SELECT request_id, contract_id, kind, created_at, cancelled_at FROM contracts.service_jobs
        WHERE contract_id IS NOT NULL AND follow_up_of IS NULL
        ON CONFLICT DO NOTHING
    """)


def downgrade() -> None:
    op.drop_index(
        "ix_quota_consumptions_contract_id_request_kind_counted_at", table_name="quota_consumptions", schema="contracts"
    )
    op.drop_table("quota_consumptions", schema="contracts")
