"""outbox.headers dropped: never written or read (the relay derives the NATS headers from the payload)

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column('outbox', 'headers', schema='notify')


def downgrade() -> None:
    op.add_column('outbox', sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()),
                                      server_default=sa.text("'{}'::jsonb"), nullable=False), schema='notify')
