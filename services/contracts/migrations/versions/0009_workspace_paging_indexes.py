"""indexes for the manager workspace: paged lists in their sort order, the visit calendar by due time

Customers and sites are listed by (name, id) and units by (equipment_type, serial, id), a page at a time over
tens of thousands of rows; the calendar reads every contract's visits due in a month.

Revision ID: 0009
Revises: 0008_rate_limits
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_customers_name_id", "customers", ["name", "id"]),
    ("ix_sites_name_id", "sites", ["name", "id"]),
    ("ix_equipment_type_serial_id", "equipment", ["equipment_type", "serial", "id"]),
    ("ix_planned_visits_due_at", "planned_visits", ["due_at"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, schema="contracts")


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table, schema="contracts")
