"""Row-level security on the customer-owned tables (issue 16, shared/db_roles.py): a unit of work opened for a
customer sees and writes only that customer's rows, whatever a query forgets to filter

Revision ID: 0010_customer_rows
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

from shared.db_roles import CURRENT_CUSTOMER, customer_rows_policy, drop_customer_rows_policy

revision: str = "0010_customer_rows"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the condition a row of the current customer meets
CUSTOMER_ROWS = {
    "customers": f"id = {CURRENT_CUSTOMER}",
    "sites": f"customer_id = {CURRENT_CUSTOMER}",
    "equipment": f"customer_id = {CURRENT_CUSTOMER}",
    "contracts": f"customer_id = {CURRENT_CUSTOMER}",
    "planned_visits": f"customer_id = {CURRENT_CUSTOMER}",
    "service_jobs": f"customer_id = {CURRENT_CUSTOMER}",
}


def upgrade() -> None:
    for table, condition in CUSTOMER_ROWS.items():
        for statement in customer_rows_policy(table, condition):
            op.execute(statement)


def downgrade() -> None:
    for table in CUSTOMER_ROWS:
        for statement in drop_customer_rows_policy(table):
            op.execute(statement)
