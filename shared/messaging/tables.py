"""The messaging tables every service keeps in its own schema: outbox, processed messages, dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    processed_messages: Table
    dead_letters: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        # the W3C trace context current when the event was written (shared/tracing.py); NULL outside any trace
        Column("trace_context", JSONB(none_as_null=True)),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )
    processed = Table(
        "processed_messages",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    dead = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("consumer", Text, nullable=False),
        Column("subject", Text, nullable=False),
        Column("event_id", Text),
        Column("payload", Text, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("reason", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return MessagingTables(outbox=outbox, processed_messages=processed, dead_letters=dead)
