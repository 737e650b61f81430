"""Tables of the notify schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    Time,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.db import service_metadata
from shared.messaging import messaging_tables
from shared.ratelimit import rate_limit_table

SCHEMA = "notify"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)
rate_limits = rate_limit_table(metadata)

# Live-stream messages are kept, so a client reconnecting with Last-Event-ID resumes without gaps and
# any replica can serve any stream. Writers lock the stream (advisory, per transaction) before inserting,
# so within one stream ids commit in order and a reader never skips past a row that commits later.
stream_messages = Table(
    "stream_messages",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("stream", Text, nullable=False),  # "technician:<id>", "customer:<id>", "dispatchers", "contract_managers"
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("source_event_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("stream", "source_event_id", "kind"),
    Index("ix_stream_messages_stream_id", "stream", "id"),
    Index("ix_stream_messages_created_at", "created_at"),  # pruning past the retention
)

# People notify tells things to, with their preferences. Customers' contacts carry customer_id,
# technicians technician_id; dispatchers and contract managers neither.
recipients = Table(
    "recipients",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("customer_id", Uuid),
    Column("technician_id", Uuid),
    Column("name", Text, nullable=False, server_default=""),
    Column("email", Text),
    Column("language", Text, nullable=False, server_default="ru"),
    Column("channels", ARRAY(Text), nullable=False, server_default=text("'{email}'::text[]")),
    Column("time_zone", Text, nullable=False, server_default="Europe/Simferopol"),
    Column("quiet_start", Time),
    Column("quiet_end", Time),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # double opt-in: an address a customer adds gets nothing but its confirmation until confirmed
    Column("confirmed_at", DateTime(timezone=True)),
    Column("confirmation_token_hash", Text),
    CheckConstraint("kind IN ('customer', 'technician', 'dispatcher', 'contract_manager')", name="kind"),
    CheckConstraint("language IN ('ru', 'en')", name="language"),
    CheckConstraint("kind <> 'customer' OR customer_id IS NOT NULL", name="customer_has_customer_id"),
    CheckConstraint("kind <> 'technician' OR technician_id IS NOT NULL", name="technician_has_technician_id"),
    Index("ix_recipients_kind_customer_id", "kind", "customer_id"),
    Index("ix_recipients_kind_technician_id", "kind", "technician_id"),
    Index("ix_recipients_confirmation_token_hash", "confirmation_token_hash", unique=True),
)

# Endpoints a customer registered; the secret signs every delivery and is shown only when created or rotated.
# Secrets are stored as Fernet tokens (domain/secret_cipher.py), never in plain text. After a rotation the old secret
# also signs until previous_secret_expires_at (checked when signing; a later rotation overwrites it).
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_expires_at", DateTime(timezone=True)),
    Column("secret_rotated_at", DateTime(timezone=True)),
    Column("language", Text, nullable=False, server_default="en"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("language IN ('ru', 'en')", name="language"),
    CheckConstraint("(previous_secret IS NULL) = (previous_secret_expires_at IS NULL)", name="previous_secret_expiry"),
)

# One row per (event, recipient or webhook, channel): the unique key makes a redelivered event a no-op.
# The table is also the durable retry queue: replicas claim due rows with FOR UPDATE SKIP LOCKED.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("source_event_id", Uuid, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("target", Text, nullable=False),  # "recipient:<id>" or "webhook:<id>"
    Column("recipient_id", Uuid, ForeignKey("recipients.id", ondelete="SET NULL")),
    Column("webhook_id", Uuid, ForeignKey("webhooks.id", ondelete="SET NULL")),
    Column("address", Text, nullable=False),  # the e-mail address or URL when the notice was made
    Column("customer_id", Uuid),
    Column("request_id", Uuid),
    Column("language", Text, nullable=False),
    Column("urgent", Boolean, nullable=False, server_default=text("false")),
    Column("content", JSONB, nullable=False),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("give_up_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    CheckConstraint("channel IN ('email', 'webhook')", name="channel"),
    CheckConstraint("status IN ('queued', 'sent', 'failed', 'dead')", name="status"),
    UniqueConstraint("source_event_id", "target", "channel"),
    Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'queued'")),
    Index("ix_deliveries_request_id", "request_id"),
    Index("ix_deliveries_created_at", "created_at"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("delivery_id", Uuid, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("outcome", Text, nullable=False),  # sent, retry, failed, dead
    Column("detail", Text, nullable=False, server_default=""),
    Index("ix_delivery_attempts_delivery_id", "delivery_id", "attempt"),
)

# What notify remembers about a request to word later notices: its kind, and the ETA last promised.
tracked_requests = Table(
    "tracked_requests",
    metadata,
    Column("request_id", Uuid, primary_key=True),
    Column("customer_id", Uuid, nullable=False),
    Column("kind", Text),
    Column("priority", Text),
    Column("promised_eta", DateTime(timezone=True)),
    Column("cancelled", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Which of notify's own dead letters dispatchers have been told about.
dead_letter_reports = Table(
    "dead_letter_reports",
    metadata,
    Column("dead_letter_id", BigInteger, ForeignKey("dead_letters.id", ondelete="CASCADE"), primary_key=True),
    Column("reported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
