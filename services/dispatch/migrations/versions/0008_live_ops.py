"""assignments: who pinned a booking and when (locked_by, locked_at), the actual arrival and finish (arrived_at,
finished_at), and why a status step looked implausible (suspect)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("locked_by", sa.Text()),
    ("locked_at", sa.DateTime(timezone=True)),
    ("arrived_at", sa.DateTime(timezone=True)),
    ("finished_at", sa.DateTime(timezone=True)),
    ("suspect", sa.Text()),
)


def upgrade() -> None:
    for name, type_ in _COLUMNS:
        op.add_column("assignments", sa.Column(name, type_, nullable=True), schema="dispatch")
    # arrivals and finishes of the history so far
    op.execute(
        "UPDATE dispatch.assignments a SET arrived_at = h.at FROM dispatch.assignment_history h "
        "WHERE h.assignment_id = a.id AND h.status = 'on_site'"
    )
    op.execute(
        "UPDATE dispatch.assignments SET finished_at = last_transition_at WHERE status IN ('completed', 'failed')"
    )


def downgrade() -> None:
    for name, _ in reversed(_COLUMNS):
        op.drop_column("assignments", name, schema="dispatch")
