"""quota_consumptions.confirmed_at: a reservation is confirmed by its request's created event; the rest expire

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
    op.add_column(
        "quota_consumptions", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True), schema="contracts"
    )
    # the requests already filed are confirmed; reservations still waiting for their event are not
    op.execute("""
        UPDATE contracts.quota_consumptions q SET confirmed_at = j.created_at
        FROM contracts.service_jobs j WHERE j.request_id = q.request_id
    """)
    op.create_index(
        "ix_quota_consumptions_unconfirmed",
        "quota_consumptions",
        ["counted_at"],
        unique=False,
        schema="contracts",
        postgresql_where=sa.text("confirmed_at IS NULL AND released_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_quota_consumptions_unconfirmed", table_name="quota_consumptions", schema="contracts")
    op.drop_column("quota_consumptions", "confirmed_at", schema="contracts")
