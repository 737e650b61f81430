"""Tables of the notify schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import service_metadata
from shared.messaging import messaging_tables

SCHEMA = "notify"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

# Live-stream messages are kept, so a client reconnecting with Last-Event-ID resumes without gaps and
# any replica can serve any stream.
stream_messages = Table(
    "stream_messages",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("stream", Text, nullable=False),  # "technician:<id>", "customer:<id>", "dispatchers"
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("source_event_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("stream", "source_event_id", "kind"),
    Index("ix_stream_messages_stream_id", "stream", "id"),
)
