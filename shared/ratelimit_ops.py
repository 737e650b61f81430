"""The `rate_limits` table (shared/ratelimit.py) as Alembic operations, one call per service's migration."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["create_rate_limit_table", "drop_rate_limit_table"]


def create_rate_limit_table(schema: str) -> None:
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limits")),
        schema=schema,
    )


def drop_rate_limit_table(schema: str) -> None:
    op.drop_table("rate_limits", schema=schema)
