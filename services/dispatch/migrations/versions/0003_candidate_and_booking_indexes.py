"""indexes for the hot path: planar KNN over live positions, active bookings per technician, declines

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # KNN on geography recomputes spheroidal distances on the index walk (~20 ms at 10k technicians);
    # planar KNN on the geometry cast is microseconds, and the true distance re-ranks the few it returns
    op.execute(
        "CREATE INDEX ix_technicians_position_geometry ON dispatch.technicians USING gist ((position::geometry))"
    )
    op.create_index(
        "ix_assignments_active_by_technician",
        "assignments",
        ["technician_id", "planned_start"],
        schema="dispatch",
        postgresql_where="status IN ('offered', 'accepted', 'en_route', 'on_site')",
    )
    op.create_index(
        "ix_assignments_declined",
        "assignments",
        ["request_id"],
        schema="dispatch",
        postgresql_where="status = 'declined'",
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_declined", table_name="assignments", schema="dispatch")
    op.drop_index("ix_assignments_active_by_technician", table_name="assignments", schema="dispatch")
    op.execute("DROP INDEX dispatch.ix_technicians_position_geometry")
