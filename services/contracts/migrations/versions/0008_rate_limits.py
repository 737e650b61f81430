"""rate_limits: fixed-window counters shared by every replica (issue 16, shared/ratelimit.py)

Revision ID: 0008_rate_limits
Revises: 0007
"""

from collections.abc import Sequence

from shared.ratelimit_ops import create_rate_limit_table, drop_rate_limit_table

revision: str = "0008_rate_limits"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_rate_limit_table("contracts")


def downgrade() -> None:
    drop_rate_limit_table("contracts")
