"""trigram indexes for the workspace's search: "contains" over names, addresses, references, models and serials

The workspace searches customers, sites and units with ILIKE '%text%' (db/rows.contains); a b-tree cannot serve
a pattern that starts with a wildcard, a pg_trgm GIN index can, so the search stays an index scan over tens of
thousands of rows.

Revision ID: 0010_trigram_search
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_trigram_search"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the text each list is searched in (db/tables.search_expression; written out: a migration keeps its own copy)
SEARCHED = {
    "customers": "name || ' ' || coalesce(external_ref, '')",
    "sites": "name || ' ' || address || ' ' || coalesce(external_ref, '')",
    "equipment": "equipment_type || ' ' || model || ' ' || serial",
}


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # trusted: the database's owner may create it
    for table, expression in SEARCHED.items():
        op.execute(f"CREATE INDEX ix_{table}_search_trgm ON contracts.{table} USING gin (({expression}) gin_trgm_ops)")


def downgrade() -> None:
    for table in reversed(SEARCHED):
        op.execute(f"DROP INDEX contracts.ix_{table}_search_trgm")
