"""outbox.headers dropped: never written or read (the relay derives the NATS headers from the payload)

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column('outbox', 'headers', schema='dispatch')


def downgrade() -> None:
    op.add_column('outbox', sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()),
                                      server_default=sa.text("'{}'::jsonb"), nullable=False), schema='dispatch')
