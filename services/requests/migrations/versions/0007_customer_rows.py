"""Row-level security on the customer-owned tables (issue 16, shared/db_roles.py): a unit of work opened for a
customer sees and writes only that customer's rows, whatever a query forgets to filter

Revision ID: 0007_customer_rows
Revises: 0006_rate_limits
"""

from collections.abc import Sequence

from alembic import op

from shared.db_roles import CURRENT_CUSTOMER, customer_rows_policy, drop_customer_rows_policy

revision: str = "0007_customer_rows"
down_revision: str | None = "0006_rate_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the condition a row of the current customer meets
CUSTOMER_ROWS = {
    "service_requests": f"customer_id = {CURRENT_CUSTOMER}",
    "surveys": f"customer_id = {CURRENT_CUSTOMER}",
    "request_timeline": f"EXISTS (SELECT 1 FROM service_requests r WHERE r.id = request_id AND r.customer_id = {CURRENT_CUSTOMER})",
    "request_assignments": f"EXISTS (SELECT 1 FROM service_requests r WHERE r.id = request_id AND r.customer_id = {CURRENT_CUSTOMER})",
}


def upgrade() -> None:
    for table, condition in CUSTOMER_ROWS.items():
        for statement in customer_rows_policy(table, condition):
            op.execute(statement)


def downgrade() -> None:
    for table in CUSTOMER_ROWS:
        for statement in drop_customer_rows_policy(table):
            op.execute(statement)
