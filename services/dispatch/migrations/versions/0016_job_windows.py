"""jobs.windows: every window a job may start in (a customer's preferred windows, a visit's due window within the
site's access hours), not only their span (issue 17); NULL on rows written before: their one window_start/end

Revision ID: 0016_job_windows
Revises: 0015_outbox_trace_context
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_job_windows"
down_revision: str | None = "0015_outbox_trace_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("windows", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema="dispatch"
    )


def downgrade() -> None:
    op.drop_column("jobs", "windows", schema="dispatch")
