"""Messaging: NATS connection and streams, transactional outbox, idempotent consumers, request/reply."""

from shared.messaging.connection import connect, ensure_stream
from shared.messaging.consumer import IdempotentConsumer, Subscription, backoff_delay
from shared.messaging.outbox import (
    OutboxRelay,
    OutboxRow,
    add_event,
    add_events,
    envelope_for,
    mark_outbox_written,
    outbox_row,
)
from shared.messaging.tables import MessagingTables, messaging_tables

__all__ = [
    "IdempotentConsumer",
    "MessagingTables",
    "OutboxRelay",
    "OutboxRow",
    "Subscription",
    "add_event",
    "add_events",
    "backoff_delay",
    "connect",
    "ensure_stream",
    "envelope_for",
    "mark_outbox_written",
    "messaging_tables",
    "outbox_row",
]
