"""The messaging tables (outbox, processed messages, dead letters) as Alembic operations.

Every service's migrations create and change these tables through here, so the four schemas stay
alike and a change to the messaging tables is written once. Each function is one step of their
history, named after what it does; a service's revision calls the step it needs with its schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = [
    "add_outbox_headers",
    "add_outbox_trace_context",
    "create_messaging_tables",
    "drop_messaging_tables",
    "drop_outbox_headers",
    "drop_outbox_trace_context",
]

_UNPUBLISHED = sa.text("published_at IS NULL")


def _jsonb() -> postgresql.JSONB:
    return postgresql.JSONB(astext_type=sa.Text())


def _headers_column() -> sa.Column[object]:
    return sa.Column("headers", _jsonb(), server_default=sa.text("'{}'::jsonb"), nullable=False)


def create_messaging_tables(schema: str) -> None:
    """The tables as first created (the outbox still with its `headers` column, dropped later)."""
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        _headers_column(),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("payload", _jsonb(), nullable=False),
        _headers_column(),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
        schema=schema,
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], unique=False, schema=schema, postgresql_where=_UNPUBLISHED
    )
    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_messages")),
        schema=schema,
    )


def drop_messaging_tables(schema: str) -> None:
    op.drop_table("processed_messages", schema=schema)
    op.drop_index("ix_outbox_unpublished", table_name="outbox", schema=schema, postgresql_where=_UNPUBLISHED)
    op.drop_table("outbox", schema=schema)
    op.drop_table("dead_letters", schema=schema)


def drop_outbox_headers(schema: str) -> None:
    """outbox.headers was never written or read: the relay derives the NATS headers from the payload."""
    op.drop_column("outbox", "headers", schema=schema)


def add_outbox_headers(schema: str) -> None:
    op.add_column("outbox", _headers_column(), schema=schema)


def add_outbox_trace_context(schema: str) -> None:
    """outbox.trace_context: the W3C trace context of the event's writer, which the relay puts into the NATS
    headers (shared/tracing.py); NULL when no trace was being recorded."""
    op.add_column("outbox", sa.Column("trace_context", _jsonb(), nullable=True), schema=schema)


def drop_outbox_trace_context(schema: str) -> None:
    op.drop_column("outbox", "trace_context", schema=schema)
